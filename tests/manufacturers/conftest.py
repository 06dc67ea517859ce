from tests.traceability import conftest as custody

# The custody fixtures: organisations with registered keys, a commissioned batch.
regulator = custody.regulator
manufacturer = custody.manufacturer
distributor = custody.distributor
pharmacy = custody.pharmacy
batch = custody.batch
