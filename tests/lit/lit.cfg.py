# lit configuration for perft's pass and driver tests (run by tests/run_all.sh).
import os
import lit.formats

config.name = "perft"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".perft"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["lit.cfg.py", "Inputs"]

perftc = lit_config.params.get("perftc")
if not perftc:
    lit_config.fatal("run lit with --param perftc=PATH/TO/perftc")
config.substitutions.append(("%perftc", perftc))
config.substitutions.append(("%examples", os.path.join(os.path.dirname(__file__), "..", "..", "examples")))
for tool in ["FileCheck", "not"]:
    config.substitutions.append((r"\b%s\b" % tool, "%s-19" % tool))
