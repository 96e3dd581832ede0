# Strict warnings, as errors, for the project's own targets only (never for dependencies).
function(lr_strict_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2 -Wundef
    -Wvla -Wnull-dereference -Wdouble-promotion -Wimplicit-fallthrough
    -Wconversion -Wno-sign-conversion)
endfunction()
