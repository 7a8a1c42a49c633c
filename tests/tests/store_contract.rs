//! The `JobStore` contract on DynamoDB (moto): the same cases the in-memory store passes, so
//! unit tests on `MemoryJobStore` stand for the real table.

use jobwatch::adapters::dynamodb::{create_table, DynamoJobStore};
use testkit::{sdk_config, unique, Moto};

async fn dynamodb() -> (DynamoJobStore, Moto) {
    let moto = Moto::start().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(&moto.endpoint));
    let table = unique("contract");
    create_table(&client, &table).await.expect("create table");
    (DynamoJobStore::new(client, table), moto)
}

jobwatch::store_contract!(dynamodb());
