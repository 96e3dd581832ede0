# Entry point for `sam build` (template.yaml, Metadata BuildMethod: makefile). SAM copies this
# directory (CodeUri: .) to a scratch directory and runs `make build-StreamProcessorFunction` there
# with ARTIFACTS_DIR set; the target must leave an executable `bootstrap` in $(ARTIFACTS_DIR).
# The bootstrap has to match the function's OS: build inside the matching image, e.g.
#   sam build --use-container --build-image public.ecr.aws/sam/build-provided.al2023
# or use the Dockerfile's `package` stage (docs/deploy.md).

CMAKE ?= cmake
SAM_BUILD_DIR ?= build-sam
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Only what the bootstrap needs: no tests, emulator, examples, benchmarks.
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DLR_BUILD_EMULATOR=OFF \
               -DLR_BUILD_EXAMPLES=OFF -DLR_BUILD_BENCH=OFF -DLR_BUILD_FUZZERS=OFF

.PHONY: build-StreamProcessorFunction check-artifacts-dir

build-StreamProcessorFunction: check-artifacts-dir
	$(CMAKE) -S . -B $(SAM_BUILD_DIR) $(CMAKE_FLAGS)
	$(CMAKE) --build $(SAM_BUILD_DIR) --target bootstrap -j$(JOBS)
	mkdir -p "$(ARTIFACTS_DIR)"
	cp $(SAM_BUILD_DIR)/handler/bootstrap "$(ARTIFACTS_DIR)/bootstrap"
	chmod 0755 "$(ARTIFACTS_DIR)/bootstrap"

check-artifacts-dir:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
