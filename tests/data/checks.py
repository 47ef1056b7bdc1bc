"""The tally of the data tests' checks: one "ok   NAME" or "FAIL NAME: DETAIL" line each, and
the closing line "N passed, N failed"."""


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, condition, detail):
        if condition:
            self.passed += 1
            print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s: %s" % (name, detail))

    def summary(self):
        """Prints the closing line; returns the exit status."""
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0
