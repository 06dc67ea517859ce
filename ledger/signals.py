from ledger.storage import ledger_initialize


def initialize_after_migrate(sender, **kwargs):
    # After every migrate and test-database flush: a fresh log is ready to
    # serve a signed (empty) checkpoint without a separate setup step.
    ledger_initialize()
