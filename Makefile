# SPDX-License-Identifier: GPL-2.0
#
# drvproxy - top-level Makefile (the outer make; kbuild itself reads Kbuild).
# `make help` lists the targets.  KDIR selects the kernel headers/build tree.

# Default KDIR: the running kernel's build tree if it has one, else the newest
# installed Debian 6.12 amd64 headers (never a hard-coded point release).
ifeq ($(origin KDIR),undefined)
KDIR := $(wildcard /lib/modules/$(shell uname -r)/build)
ifeq ($(KDIR),)
KDIR := $(lastword $(shell ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V))
# Modules built for other headers than the running kernel's do not load here.
KDIR_NOT_RUNNING := $(if $(KDIR),1)
endif
endif

# Pass kbuild's knobs through explicitly (W=1 extra warnings, C=1/2 sparse,
# V=1 verbose); they are inherited anyway, this documents them.
KBUILD_ARGS := $(if $(W),W=$(W)) $(if $(C),C=$(C)) $(if $(V),V=$(V))
KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_ARGS)

.PHONY: all modules tools clean modules_install modules_uninstall bootstrap kunit-kernel check demo help check-kdir \
	companion

all: modules tools

# Userspace tools: drvproxyctl (tools/drvproxyctl; STATIC=1 links it statically).
tools:
	$(MAKE) -C tools/drvproxyctl $(if $(STATIC),STATIC=$(STATIC))

check-kdir:
	@if [ -z "$(KDIR)" ] || [ ! -d "$(KDIR)" ]; then \
		echo "drvproxy: no kernel build tree found (KDIR='$(KDIR)')." >&2; \
		echo "drvproxy: run 'make bootstrap' (or tools/bootstrap.sh as root) to install the Debian 6.12 headers, or pass KDIR=<dir>." >&2; \
		exit 1; \
	fi
	@if [ -n "$(KDIR_NOT_RUNNING)" ]; then \
		echo "drvproxy: note: no headers for the running kernel $$(uname -r); building for $(KDIR), whose modules load only in that kernel (insmod here says \"Invalid module format\"); install linux-headers-$$(uname -r) or pass KDIR=<dir>" >&2; \
	fi

modules: check-kdir
	+$(KMAKE) modules

# What a user installs: the framework and the demo host with its two
# companions, the set dkms.conf installs.  Not kbuild's modules_install,
# which installs every module of the tree (the test-only ones too), signs
# them with a key distribution headers do not ship (sign-file errors) and
# skips depmod without a System.map (modprobe then finds nothing).
USER_MODULES := module/drvproxy/drvproxy.ko module/demo/drvproxy_demo.ko \
	module/demo/drvproxy_demo_v2.ko module/demo/drvproxy_demo_v3.ko
KRELEASE = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
MOD_DEST = $(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/$(or $(INSTALL_MOD_DIR),updates)
DEPMOD = depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KRELEASE)

modules_install: check-kdir
	@for m in $(USER_MODULES); do \
		[ -f "$$m" ] || { echo "drvproxy: $$m is not built: run make first" >&2; exit 1; }; \
	done
	install -d "$(MOD_DEST)"
	install -m 0644 $(USER_MODULES) "$(MOD_DEST)/"
	$(DEPMOD)

modules_uninstall: check-kdir
	rm -f $(addprefix "$(MOD_DEST)/,$(addsuffix ",$(notdir $(USER_MODULES))))
	$(DEPMOD)

clean:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ]; then $(KMAKE) clean; fi
	rm -rf tools/testing/selftests/drvproxy/bin
	$(MAKE) -C tools/drvproxyctl clean

bootstrap:
	@tools/bootstrap.sh

# An image companion: SRC (the host module's edited source), TARGET (the
# running host module), NAME (the companion), OLD (a directory with the
# running host's .ko, whose build id the companion is bound to, and its
# objects, for skipping unchanged endpoints).  See Documentation/servicing.rst.
companion: check-kdir
	@tools/companion/build.sh -k "$(KDIR)" $(if $(OLD),-o "$(OLD)") \
		"$(SRC)" "$(TARGET)" "$(NAME)" $(KBUILD_ARGS)

# VARIANT=none|rt|newest: one of the other kernel configurations (tools/kunit-kernel.sh).
kunit-kernel:
	@tools/kunit-kernel.sh $(VARIANT)

# check.sh prints one result line per test, lists the skips with their
# reasons and ends with "N passed, N failed, N skipped".
check:
	@BOOTSTRAP_WITH_61=1 tools/bootstrap.sh
	@DRVPROXY_SKIP_BOOTSTRAP=1 tools/check.sh $(STAGES)

# tools/demo.sh is the framework's demo; until it exists, build what there is
# and boot the guest once to show the harness works.
demo:
	@tools/bootstrap.sh
	@if [ -x tools/demo.sh ]; then \
		exec tools/demo.sh; \
	fi; \
	echo "drvproxy: the demo driver is not built yet (tools/demo.sh does not exist)."; \
	echo "drvproxy: building the modules and booting the Debian kernel once to show the harness."; \
	mods=""; \
	if [ -f module/Kbuild ] || [ -f module/Makefile ]; then \
		if $(MAKE) --no-print-directory modules; then mods="-m $(CURDIR)"; \
		else echo "drvproxy: module build failed (work in progress?); booting without modules."; fi; \
	fi; \
	tools/guest/run.sh $$mods -t 120 -c 'echo "drvproxy demo guest: $$(uname -r), $$(nproc) CPUs"; ls -l /lib/drvproxy'; \
	echo "drvproxy: the demo driver is not built yet; the harness works."

# Benchmarks in QEMU guests: tables on stdout, raw outputs under
# ~/.cache/drvproxy/build/bench; UPDATE_RST=1 also rewrites the tables in
# Documentation/performance.rst (nothing tracked changes by default).
.PHONY: bench
bench:
	@tools/bench/bench.sh $(if $(UPDATE_RST),--update-rst)

# The long reliability runs (tools/torture.sh): drvproxy_torture.ko for
# DURATION seconds, module churn, fuzzing and fault injection, in the Debian
# and the KUnit kernel.
.PHONY: torture
torture:
	@tools/torture.sh -d $(or $(DURATION),600) $(if $(KERNELS),-k $(KERNELS))

# The README's "On a development box" section, typed in a full Debian VM
# (tools/devbox.sh): SUITE=bookworm (its newest 6.12 kernel; default) or
# SUITE=newest (Debian testing/unstable's newest kernel).  About 15 min
# under TCG, plus a few minutes once to make the VM image.
.PHONY: devbox
devbox:
	@tools/devbox.sh $(or $(SUITE),bookworm)

# Mutation testing (tools/mutate.sh, Documentation/reliability.rst): every
# deliberate bug in tools/mutate/mutants/ must make its checks fail.  Long
# (one build and guest per mutant), so not part of check; MUTANTS='03 12'
# picks some.
.PHONY: mutate
mutate:
	@tools/mutate.sh $(foreach m,$(MUTANTS),-m $(m))

help:
	@echo "drvproxy make targets:"
	@echo "  all              modules and tools"
	@echo "  modules          build the modules against KDIR (W=1, C=1|2, V=1 passed through)"
	@echo "  tools            build tools/drvproxyctl/drvproxyctl (STATIC=1: statically linked)"
	@echo "  modules_install  install the framework, the demo and its companions into"
	@echo "                   /lib/modules/<release>/updates and run depmod (INSTALL_MOD_PATH,"
	@echo "                   INSTALL_MOD_DIR honoured); modules_uninstall removes them"
	@echo "  clean            kbuild clean plus tools build outputs"
	@echo "  bootstrap        install missing build/test dependencies (tools/bootstrap.sh, needs root)"
	@echo "  kunit-kernel     build or reuse the cached KUnit kernel (tools/kunit-kernel.sh);"
	@echo "                   VARIANT=none|rt|newest: PREEMPT_NONE without PREEMPT_COUNT, PREEMPT_RT,"
	@echo "                   the newest Debian kernel's linux-source (built in its chroot)"
	@echo "  companion        image companion: SRC=<edited host source> TARGET=<host module> NAME=<companion> [OLD=<running host's build dir>]"
	@echo "  check            bootstrap (with 6.1 headers), then every stage of tools/check.sh;"
	@echo "                   STAGES='build sparse style runner kunit selftests' selects stages,"
	@echo "                   KUNIT_VARIANTS='default none rt newest' the kernels of stage kunit,"
	@echo "                   TORTURE_VARIANTS='default none rt' those of stage torture"
	@echo "                   GUESTS='6.12 6.1 newest rt arm64' the kernels stage selftests boots,"
	@echo "                   DEVBOX_SUITES='bookworm newest' the VMs of stage devbox, which runs"
	@echo "                   what fits CHECK_BUDGET (4800 s from the start of the run)"
	@echo "  demo             bootstrap, then tools/demo.sh"
	@echo "  bench            bootstrap, build and run the benchmarks in QEMU (6-15 min);"
	@echo "                   tables and raw data in ~/.cache/drvproxy/build/bench; UPDATE_RST=1 also"
	@echo "                   rewrites the tables in Documentation/performance.rst"
	@echo "  torture          long torture/churn/fuzz/fault-injection runs in QEMU (DURATION=600 s;"
	@echo "                   KERNELS=all: Debian's and the three KUnit kernels)"
	@echo "  devbox           the README's development-box section in a full Debian VM (tools/devbox.sh);"
	@echo "                   SUITE=bookworm (default) or SUITE=newest"
	@echo "  mutate           mutation testing: build each deliberate bug of tools/mutate/mutants/,"
	@echo "                   run the checks it names; kill rate and survivors (MUTANTS='03 12' picks some)"
	@echo "  help             this text"
	@echo "KDIR=$(KDIR)"
