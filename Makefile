# The two README commands. Both work on a fresh Debian 12 machine as root.
#   make dev   install what is missing, build, start a dev agent on conf/
#   make test  install what is missing, build with ASan/UBSan, run every test suite
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
PKGS := g++ meson ninja-build pkg-config libldns-dev libuv1-dev libsimdjson-dev libyaml-cpp-dev \
        doctest-dev dnsutils dnsmasq-base python3 ldnsutils libhttp-parser-dev liblmdb-dev \
        python3-consul victoria-metrics prometheus curl libcurl4-openssl-dev \
        golang-go golang-github-hashicorp-serf-dev golang-github-hashicorp-memberlist-dev \
        libmsgpack-cxx-dev libssl-dev libnghttp2-dev nftables iproute2 chromium \
        etcd-server etcd-client
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build dev test asan clean lint

deps:
	@missing=$$(for p in $(PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm
	@[ -d tests/integration/node/node_modules/consul ] || npm ci --prefix tests/integration/node --no-audit --no-fund
	@[ -d tests/integration/ui/node_modules/puppeteer-core ] || npm ci --prefix tests/integration/ui --no-audit --no-fund

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Db_ndebug=true

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Only the agent: the test suite is built by `make test`.
dev: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) beacon
	$(BUILD)/beacon agent -dev -config-dir conf -config-dir conf/services

# -O1 with line tables only (-g1): what ASan recommends, and half the compile time of -O2 -g
# (build/bench figures in README); reports still name file and line. Unity files of 6 sources:
# ASan's code generation of the same inline std templates once per unity file instead of once
# per source halves the compile (README, "Build time"). The dev build stays one object a source.
$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Doptimization=1 -Ddebug=false -Dcpp_args=-g1 \
	  -Db_sanitize=address,undefined -Db_lundef=false -Dunity=on -Dunity_size=6

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

test: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# Style and static checks (not part of `make test`: clang-tidy alone takes minutes on 2 cores).
lint: build
	clang-format --dry-run -Werror $$(git ls-files 'src/*.cpp' 'src/*.h' 'include/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp')
	clang-tidy -p $(BUILD) --quiet $$(git ls-files 'src/*.cpp')
