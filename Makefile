# bedrock-jobwatch: the two commands of the quick start, and a few helpers.
.PHONY: demo test tools build lambda-build release deploy docs clean

demo: ## Installs what is missing, runs the whole system locally and shows notifications
	scripts/demo.sh

test: tools ## Installs what is missing and runs the whole test suite (what CI runs)
	scripts/test.sh

tools:
	scripts/install-tools.sh

docs: tools ## Serves the documentation site (docs/, MkDocs Material) at http://127.0.0.1:8000
	scripts/docs.sh serve

build:
	cargo build --workspace

lambda-build: tools ## Release bootstrap for Lambda (arm64), as SAM builds it
	cargo lambda build --release --arm64 -p jobwatch-poller --bin jobwatch-poller

# One release build per architecture, each into its own folder: both would otherwise write
# target/lambda/<function>/bootstrap and the second build would replace the first. Every poller
# deploys the same binary (its family from JOB_FAMILY, template.yaml).
POLLERS := jobwatch-poller
RELEASE_DIR := target/lambda

release: tools ## Release bootstrap of the pollers (one binary for every family) for arm64 and x86_64 (packaging without SAM), with sizes
	cargo lambda build --release --arm64 -p jobwatch-poller $(addprefix --bin ,$(POLLERS)) --lambda-dir $(RELEASE_DIR)/arm64
	cargo lambda build --release --x86-64 -p jobwatch-poller $(addprefix --bin ,$(POLLERS)) --lambda-dir $(RELEASE_DIR)/x86_64
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
