# Builds the bundled bootstrap on the Amazon Linux that matches the Lambda runtime, and yields:
#   - the default target: a Lambda container image (provided base + bootstrap), runnable locally
#     through the base image's emulator:
#       docker build -t lambda-ddb .
#       docker run --rm -p 9000:8080 lambda-ddb
#       curl -s -XPOST http://localhost:9000/2015-03-31/functions/function/invocations -d @input.json
#   - the `package` target: the deployment zip, exported to the host:
#       docker build --target package --output type=local,dest=out .   # -> out/function.zip
# The default base is provided.al2023, the templates' default runtime. For provided.al2 (deprecated
# since 2026-07-31; no new functions from 2027-02-01):
#       docker build --build-arg BASE_TAG=al2.2025.12.22.12 -t lambda-ddb:al2 .
# arm64 (Graviton): add --platform linux/arm64 (the base tags are multi-arch).
# Base tags are pinned for reproducible builds; bump them deliberately.
ARG BASE_TAG=al2023.2026.02.27.21

FROM public.ecr.aws/lambda/provided:${BASE_TAG} AS build
# AL2 ships yum and a cmake 2.8 (cmake3 is the 3.x package); AL2023 ships dnf and cmake 3.x.
# cJSON is not packaged on Amazon Linux: CMake fetches a pinned, checksum-verified release. The
# AWS calls (the sinks) take SHA-256 and HMAC from OpenSSL's libcrypto, which libcurl loads anyway.
RUN if command -v dnf >/dev/null 2>&1; then \
      dnf install -y gcc make cmake libcurl-devel zlib-devel openssl-devel tar gzip zip && dnf clean all; \
    else \
      yum install -y gcc make cmake3 libcurl-devel zlib-devel openssl-devel tar gzip zip && yum clean all && \
      ln -sf /usr/bin/cmake3 /usr/local/bin/cmake; \
    fi
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY runtime/ runtime/
COPY handler/ handler/
COPY tools/aws_call/ tools/aws_call/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DLR_BUILD_EMULATOR=OFF \
      -DLR_BUILD_EXAMPLES=OFF -DLR_BUILD_BENCH=OFF -DLR_BUILD_FUZZERS=OFF \
 && cmake --build build --target bootstrap -j"$(nproc)" \
 && mkdir -p /out && install -m 0755 build/handler/bootstrap /out/bootstrap \
 && cd /out && zip -X -q function.zip bootstrap

# Export-only stage: `--target package --output ...` writes function.zip to the host.
FROM scratch AS package
COPY --from=build /out/function.zip /function.zip

# The Lambda image: the base image's entrypoint runs ${LAMBDA_RUNTIME_DIR}/bootstrap (/var/runtime),
# under its built-in emulator when started outside Lambda.
FROM public.ecr.aws/lambda/provided:${BASE_TAG} AS runtime
COPY --from=build /out/bootstrap /var/runtime/bootstrap
CMD ["bootstrap"]
