# bedrock-jobwatch: the two commands of the quick start, and a few helpers.
.PHONY: demo test tools build lambda-build deploy clean

demo: ## Installs what is missing, runs the whole system locally and shows notifications
	scripts/demo.sh

test: tools ## Installs what is missing and runs the whole test suite (what CI runs)
	scripts/test.sh

tools:
	scripts/install-tools.sh

build:
	cargo build --workspace

lambda-build: tools ## Release bootstraps for Lambda (arm64), as SAM builds them
	cargo lambda build --release --arm64

deploy: ## Builds and deploys with your values in samconfig.local.toml (git-ignored); the first run asks for them
	scripts/deploy.sh

clean:
	cargo clean
	rm -rf .aws-sam .demo
