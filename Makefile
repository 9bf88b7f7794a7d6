# finetuned — build, test, demo, bench and install.
#
#   make demo       run the main job on the local backend (builds first)
#   make test       install what the tests need, build, run the whole suite
#   make unit       the unit test targets alone
#   make install    install binaries, units, configuration and plugins (PREFIX, DESTDIR)

PREFIX      ?= /usr
DESTDIR     ?=
BINDIR      := $(PREFIX)/bin
LIBDIR      := $(PREFIX)/lib
SYSTEMDDIR  := $(LIBDIR)/systemd/system
SYSUSERSDIR := $(LIBDIR)/sysusers.d
TMPFILESDIR := $(LIBDIR)/tmpfiles.d
ADAPTERDIR  := $(LIBDIR)/finetuned/adapters
SWIFTRUNTIMEDIR := $(LIBDIR)/finetuned/swift
DATADIR     := $(PREFIX)/share/finetuned
DOCDIR      := $(PREFIX)/share/doc/finetuned
SYSCONFDIR  ?= /etc

SWIFT       ?= swift
# `make install BUILD=debug` installs the debug build (the systemd end-to-end test does); the
# default is the release build. Either way the Swift runtime it needs is installed with it.
BUILD       ?= release
RELEASE_DIR := .build/$(BUILD)

.PHONY: all build release test unit e2e demo bench fuzz format lint install uninstall clean build-release build-debug

all: build

build:
	$(SWIFT) build

# Linked against the Swift runtime that make install ships beside the adapter plugins, which
# need it anyway: one runtime in the process, not a static copy plus the plugins' own.
# Every function in a section of its own, so the linker's --gc-sections drops the functions
# nothing calls one by one rather than object by object: measured with `finetuned-bench idle`,
# the daemon's resident code after a workflow is 12.1–12.2 MiB with them and 12.5–12.7 without
# (38.2–38.4 MB in all, against 38.7–39.1; the goal is under 40 MB). Swift reuses an object
# whose IR is unchanged even when code generation flags change: after a release build without
# these flags, delete .build/release/*.build/*.o once.
# Optimised for size (-Osize), dependencies included: the daemon waits on the network and the
# disk, and its resident code is what counts. With postgres-nio linked, `finetuned-bench idle`
# after a workflow measured 38,992 kB with -O and 37,960–38,040 kB with -Osize; the numeric
# code barely moved (one run each: BERTScore 200 pairs 5.03 s against 4.90 s with
# -O; featurising 360 records within 1%, and 8 epochs of local training 3-11% faster;
# `finetuned-bench bertscore` and `local`).
RELEASE_FLAGS := -Xswiftc -Osize -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections
release:
	$(SWIFT) build -c release $(RELEASE_FLAGS)

# swift-format from the toolchain, with the repository's .swift-format (4 spaces, 150 columns).
# `make test` checks it too (FormattingTests).
format:
	swift format format -i -r --configuration .swift-format Sources Tests plugins Package.swift

lint:
	swift format lint -r --strict --configuration .swift-format Sources Tests plugins Package.swift

# The fail-over tests run three daemons, each with its model worker, beside moto, the Bedrock
# emulator and PostgreSQL: on two cores that starves the suites running in parallel, some of
# which time real deadlines (IMDS's 1 s, a training stop). They run alone, after the rest.
test:
	./scripts/install-test-deps
	./scripts/fetch-model
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip FailoverTests
	$(SWIFT) test --filter FailoverTests
	./scripts/e2e

# The unit test targets alone (Tests/*UnitTests: no daemon, no peer), in well under a minute.
unit:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter UnitTests

# The daemon under a real systemd, in a systemd-nspawn container (see scripts/e2e).
e2e:
	./scripts/install-test-deps
	./scripts/fetch-model
	./scripts/e2e

demo:
	./scripts/install-test-deps
	./scripts/fetch-model
	$(SWIFT) build
	./scripts/demo

bench:
	./scripts/bench

fuzz:
	./scripts/fuzz

build-release: release
build-debug: build

install: build-$(BUILD)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(SYSUSERSDIR) \
	  $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(ADAPTERDIR) $(DESTDIR)$(DATADIR)/models \
	  $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/finetuned
	install -m 0755 $(RELEASE_DIR)/finetuned $(RELEASE_DIR)/finetunectl $(DESTDIR)$(BINDIR)/
	sed 's#@BINDIR@#$(BINDIR)#g' systemd/finetuned.service > $(DESTDIR)$(SYSTEMDDIR)/finetuned.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/finetuned.service
	install -m 0644 systemd/sysusers.d/finetuned.conf $(DESTDIR)$(SYSUSERSDIR)/finetuned.conf
	install -m 0644 systemd/tmpfiles.d/finetuned.conf $(DESTDIR)$(TMPFILESDIR)/finetuned.conf
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 0644 $(RELEASE_DIR)/libfinetuned-adapter-*.so $(DESTDIR)$(ADAPTERDIR)/
	./scripts/install-swift-runtime $(DESTDIR)$(SWIFTRUNTIMEDIR) $(RELEASE_DIR)/finetuned $(RELEASE_DIR)/finetunectl \
	  $(RELEASE_DIR)/libfinetuned-adapter-*.so
	install -m 0644 plugins/abi/include/finetuned_adapter.h $(DESTDIR)$(DOCDIR)/
	install -m 0644 plugins/README.md $(DESTDIR)$(DOCDIR)/plugins-README.md
	./scripts/fetch-model
	install -d $(DESTDIR)$(DATADIR)/models/all-MiniLM-L6-v2
	install -m 0644 models/all-MiniLM-L6-v2/* $(DESTDIR)$(DATADIR)/models/all-MiniLM-L6-v2/
	# An existing configuration is the operator's: never overwrite it.
	test -e $(DESTDIR)$(SYSCONFDIR)/finetuned/finetuned.toml || \
	  sed -e 's#/usr/lib/finetuned#$(LIBDIR)/finetuned#g' -e 's#/usr/share/finetuned#$(DATADIR)#g' \
	    etc/finetuned/finetuned.toml > $(DESTDIR)$(SYSCONFDIR)/finetuned/finetuned.toml

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/finetuned $(DESTDIR)$(BINDIR)/finetunectl
	rm -f $(DESTDIR)$(SYSTEMDDIR)/finetuned.service $(DESTDIR)$(SYSUSERSDIR)/finetuned.conf \
	  $(DESTDIR)$(TMPFILESDIR)/finetuned.conf $(DESTDIR)$(DOCDIR)/README.md \
	  $(DESTDIR)$(DOCDIR)/finetuned_adapter.h $(DESTDIR)$(DOCDIR)/plugins-README.md
	rm -f $(DESTDIR)$(ADAPTERDIR)/libfinetuned-adapter-*.so
	rm -rf $(DESTDIR)$(SWIFTRUNTIMEDIR)
	rm -rf $(DESTDIR)$(DATADIR)/models/all-MiniLM-L6-v2
	-rmdir $(DESTDIR)$(ADAPTERDIR) $(DESTDIR)$(LIBDIR)/finetuned $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(DATADIR)/models $(DESTDIR)$(DATADIR) 2>/dev/null
	@echo "left in place: $(DESTDIR)$(SYSCONFDIR)/finetuned (configuration) and /var/lib/finetuned (state)"

clean:
	rm -rf .build .build-fuzz demo
