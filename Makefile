# Entry point for `sam build` (template.yaml, Metadata BuildMethod: makefile). SAM copies this
# directory (CodeUri: .) to a scratch directory and runs `make build-StreamProcessorFunction` there
# with ARTIFACTS_DIR set; the target must leave an executable `bootstrap` in $(ARTIFACTS_DIR).
# The bootstrap has to match the function's OS: build inside the matching image, e.g.
#   sam build --use-container --build-image public.ecr.aws/sam/build-provided.al2023
# or use the Dockerfile's `package` stage (docs/deploy.md).
#
# BOOTSTRAP selects what lands in ARTIFACTS_DIR (make reads it from the environment too, so
# `BOOTSTRAP=static sam build` works):
#   static   the self-contained musl bootstrap of scripts/package (no shared libraries at all: runs
#            unchanged on provided.al2 and provided.al2023 whatever the build host; docs/packaging.md)
#   dynamic  a plain CMake build against the host's libcurl: only right when the host is the Lambda OS
#            (sam build --use-container with the provided build image)
#   auto     (default) static where musl-gcc is installed, dynamic otherwise (with a warning)
# PACKAGE_SOURCES_DIR: verified third-party sources to reuse for the static build (scripts/package).

CMAKE ?= cmake
SAM_BUILD_DIR ?= build-sam
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Only what the bootstrap needs: no tests, emulator, examples, benchmarks.
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DLR_BUILD_EMULATOR=OFF \
               -DLR_BUILD_EXAMPLES=OFF -DLR_BUILD_BENCH=OFF -DLR_BUILD_FUZZERS=OFF

BOOTSTRAP ?= auto
PACKAGE_SOURCES_DIR ?=
ifeq ($(BOOTSTRAP),auto)
  ifneq ($(shell command -v musl-gcc 2>/dev/null),)
    override BOOTSTRAP := static
  else
    $(warning musl-gcc not found: building a dynamically linked bootstrap, which only runs on a Lambda \
      OS with matching libraries; install musl-tools or use sam build --use-container)
    override BOOTSTRAP := dynamic
  endif
endif
ifeq ($(filter static dynamic,$(BOOTSTRAP)),)
  $(error BOOTSTRAP must be auto, static or dynamic, not '$(BOOTSTRAP)')
endif

.PHONY: build-StreamProcessorFunction bootstrap-static bootstrap-dynamic check-artifacts-dir

build-StreamProcessorFunction: check-artifacts-dir bootstrap-$(BOOTSTRAP)
	chmod 0755 "$(ARTIFACTS_DIR)/bootstrap"

bootstrap-static: check-artifacts-dir
	scripts/package --build-dir $(SAM_BUILD_DIR) $(if $(PACKAGE_SOURCES_DIR),--sources-dir $(PACKAGE_SOURCES_DIR))
	mkdir -p "$(ARTIFACTS_DIR)"
	unzip -o -q $(SAM_BUILD_DIR)/function.zip bootstrap -d "$(ARTIFACTS_DIR)"

bootstrap-dynamic: check-artifacts-dir
	$(CMAKE) -S . -B $(SAM_BUILD_DIR) $(CMAKE_FLAGS)
	$(CMAKE) --build $(SAM_BUILD_DIR) --target bootstrap -j$(JOBS)
	mkdir -p "$(ARTIFACTS_DIR)"
	cp $(SAM_BUILD_DIR)/handler/bootstrap "$(ARTIFACTS_DIR)/bootstrap"

check-artifacts-dir:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
