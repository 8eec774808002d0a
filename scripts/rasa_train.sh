#!/usr/bin/env bash
# Train the Rasa NLU model into var/models/rasa/ (or $RASA_MODEL_DIR) only when its inputs changed.
# Inputs: nlu/data/*.yml (normalised, assembled by nlu/rasa_project/assemble.py), the catalog user
# dictionary and the pipeline config. Their hash is kept beside the model, so a CI cache of var/
# survives a fresh checkout (mtimes change, content does not).
# Usage: scripts/rasa_train.sh [CONFIG]   (default nlu/rasa_project/config.yml)
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG=${1:-nlu/rasa_project/config.yml}
MODEL_DIR=${RASA_MODEL_DIR:-var/models/rasa}
BUILD=$MODEL_DIR/build
MODEL=$MODEL_DIR/nlu.tar.gz
RASA=${RASA_VENV:-.venv-rasa}/bin/rasa

.venv/bin/python nlu/rasa_project/assemble.py "$BUILD" "$CONFIG"
want=$(cat "$BUILD/inputs.sha256")
if [[ -f $MODEL && -f $MODEL_DIR/trained.sha256 && $(cat "$MODEL_DIR/trained.sha256") == "$want" ]]; then
    echo "rasa model $MODEL is up to date"
    exit 0
fi

# The pipeline config names the dictionary folder relative to the repo root; point it at this build.
cfg=$BUILD/config.yml
sed "s#dictionary_path: .*#dictionary_path: $BUILD/jieba#" "$CONFIG" > "$cfg"

export RASA_TELEMETRY_ENABLED=false
# Rasa's fingerprint cache would otherwise land in ./.rasa of the repo root.
export RASA_CACHE_DIRECTORY=$MODEL_DIR/cache
start=$(date +%s)
"$RASA" train nlu --config "$cfg" --nlu "$BUILD/nlu.yml" --out "$MODEL_DIR" \
    --fixed-model-name nlu --quiet
echo "$want" > "$MODEL_DIR/trained.sha256"
echo "trained $MODEL in $(( $(date +%s) - start )) s"
