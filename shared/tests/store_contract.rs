//! The `JobStore` contract on the in-memory store (the same cases run on DynamoDB via moto in
//! `tests/tests/store_contract.rs`).

use jobwatch::testing::MemoryJobStore;

jobwatch::store_contract!(async { (MemoryJobStore::default(), ()) });
