# Web chat: its browser tests drive the page in Debian's headless chromium. Playwright's own browser
# download cannot reach the internet here, so the system browser is installed with apt-get (CI runs
# as root on Debian), with CJK and emoji fonts so the page's text renders in screenshots.
CHROMIUM ?= /usr/bin/chromium

.PHONY: webchat-test-deps

webchat-test-deps: $(STAMP)
	@if [ -x "$(CHROMIUM)" ] && fc-list :lang=zh 2>/dev/null | grep -q . \
		&& fc-list 2>/dev/null | grep -qi 'color emoji'; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "webchat: installing chromium and fonts with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium fonts-noto-cjk fonts-noto-color-emoji; \
	else \
		echo "webchat: $(CHROMIUM) or its fonts are missing and apt-get cannot run here;" \
			"the browser tests will skip and say why"; \
	fi

TEST_DEPS += webchat-test-deps
