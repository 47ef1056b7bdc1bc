# lit configuration for perft's pass and driver tests (run by tests/run_all.sh).
#
# Parameters (--param NAME=VALUE):
#   perftc     path of the driver (required): BUILD/compiler/perftc
#   build_dir  the build folder; lit writes its Output/ folders and .lit_test_times.txt under
#              BUILD/tests/lit, never in the source tree. Defaults to the folder two levels
#              above perftc (BUILD/compiler/perftc -> BUILD).
#   perft_opt  path of perft-opt, substituted for %perft_opt; defaults to perft-opt beside perftc.
#              Without one only the tests that use %perft_opt fail.
import os
import lit.formats

config.name = "perft"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".perft"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.excludes = ["lit.cfg.py", "Inputs"]

perftc = lit_config.params.get("perftc")
if not perftc:
    lit_config.fatal("run lit with --param perftc=PATH/TO/perftc")
perftc = os.path.abspath(perftc)

build_dir = lit_config.params.get("build_dir")
if not build_dir:
    build_dir = os.path.dirname(os.path.dirname(perftc))
config.test_exec_root = os.path.join(os.path.abspath(build_dir), "tests", "lit")
os.makedirs(config.test_exec_root, exist_ok=True)

config.substitutions.append(("%perftc", perftc))
perft_opt = lit_config.params.get("perft_opt") or os.path.join(os.path.dirname(perftc), "perft-opt")
if os.path.exists(perft_opt):
    config.substitutions.append(("%perft_opt", os.path.abspath(perft_opt)))
    config.available_features.add("perft-opt")
else:
    # Not fatal: a test that runs %perft_opt fails with this name in its "command not found".
    config.substitutions.append(("%perft_opt", "missing-perft-opt--run-lit-with--param-perft_opt=PATH"))
config.substitutions.append(("%examples", os.path.join(config.test_source_root, "..", "..", "examples")))
# FileCheck and not are LLVM 19's; the pattern leaves words inside options alone
# (--implicit-check-not=... stays as it is).
for tool in ["FileCheck", "not"]:
    config.substitutions.append((r"(?<![-\w./=])%s(?![-\w./=])" % tool, "%s-19" % tool))
