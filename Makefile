.PHONY: test demo plan-examples clean-demo

# The whole test suite (installs Docker, images and venvs itself on a fresh machine).
test:
	bash tests/run-all.sh

# A throwaway lab host container converged by site.yml, answering a chat request.
demo:
	bash tests/demo.sh

clean-demo:
	docker rm -f gpt-oss-demo 2>/dev/null || true
