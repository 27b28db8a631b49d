# SPDX-License-Identifier: GPL-2.0
#
# rust_procmaps: the two commands a newcomer needs, plus the usual
# out-of-tree module targets for people with their own kernel tree.
#
#   make run     build everything (first time: toolchain root + kernel, ~10 min),
#                boot it in QEMU, show our maps and smaps_rollup next to /proc's
#   make check   the same, then run every test in the guest; ends with
#                "N passed, N failed, N skipped"
#   make check-debian  the tests on Debian's own kernel configuration, with the
#                signed module, without and with Secure Boot's lockdown
#   make bench   contention benchmark on Debian's kernel configuration (~17 min warm);
#                results in results/latest/ (bench-quick: CI smoke, ~2 min warm)
#   make bench-inline  the same with the Rust -> C helpers inlined
#                (CONFIG_RUST_INLINE_HELPERS, clang 22): results/latest-inline/
#   make lint    rustfmt, clippy, checkpatch --strict (make check runs it first)
#   make kunit   only the module's KUnit suites, in the guest
#   make mutants each mutant of tests/mutants.txt against its test groups
#                (scripts/mutants.py; report in results/mutants/)
#   make rust-analyzer   module/rust-project.json for editors
#   make profile perf profiles of the reader-cost cases, /proc's and ours, under
#                -icount: the samples count instructions
#                (PROFILE="maps:10000:0 smaps_rollup:1:1024" to choose;
#                PROFILE_PERF=0: the rows' instruction counts alone)
#   make KDIR=/path/to/linux/build [LLVM=1]   build module/rust_procmaps.ko only

.PHONY: all run check check-debian bench bench-quick bench-inline lint kunit mutants rust-analyzer profile modules clean

ifneq ($(KDIR),)
all: modules
else
all: check
endif

run:
	@scripts/run-guest.sh demo

check:
	@scripts/run-guest.sh check

check-debian:
	@scripts/run-guest.sh check-debian

bench:
	@scripts/run-guest.sh bench

bench-quick:
	@scripts/run-guest.sh bench --quick

bench-inline:
	@scripts/run-guest.sh bench-inline

lint:
	@scripts/lint.sh

kunit:
	@TESTS=kunit scripts/run-guest.sh check

mutants:
	@scripts/mutants.py

rust-analyzer:
	@scripts/rust-analyzer.sh

profile:
	@scripts/run-guest.sh profile

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/module CONFIG_RUST_PROCMAPS=m modules

# Our own builds live in ~/.cache/rust_procmaps (remove it to start cold);
# this cleans a KDIR= build of the module.
clean:
ifneq ($(KDIR),)
	$(MAKE) -C $(KDIR) M=$(CURDIR)/module clean
endif
