# bedrock-jobwatch: the two commands of the quick start, and a few helpers.
.PHONY: demo test tools build lambda-build release deploy clean

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

# One release build per architecture, each into its own folder: both would otherwise write
# target/lambda/<function>/bootstrap and the second build would replace the first.
POLLERS := batch-inference-poller model-import-poller async-invoke-poller customization-poller
RELEASE_DIR := target/lambda

release: tools ## Release bootstraps of the four pollers for arm64 and x86_64 (packaging without SAM), with sizes
	cargo lambda build --release --arm64 $(addprefix -p ,$(POLLERS)) --lambda-dir $(RELEASE_DIR)/arm64
	cargo lambda build --release --x86-64 $(addprefix -p ,$(POLLERS)) --lambda-dir $(RELEASE_DIR)/x86_64
	@for arch in arm64 x86_64; do for f in $(POLLERS); do \
	  b=$(RELEASE_DIR)/$$arch/$$f/bootstrap; \
	  [ -x "$$b" ] || { echo "missing $$b" >&2; exit 1; }; \
	  desc=$$(file -b "$$b"); \
	  printf '%-60s %8s  %s\n' "$$b" "$$(du -h "$$b" | cut -f1)" "$$(echo "$$desc" | cut -d, -f1-2)"; \
	  case "$$arch:$$desc" in arm64:*aarch64*|x86_64:*x86-64*) ;; *) echo "$$b is not $$arch" >&2; exit 1;; esac; \
	done; done

deploy: ## Builds and deploys with your values in samconfig.local.toml (git-ignored); the first run asks for them
	scripts/deploy.sh

clean:
	cargo clean
	rm -rf .aws-sam .demo
