# deploy/lab/lab.mk — the network-namespace lab, included by the top Makefile.
#
#   make lab-up       build, bring the lab up, start web1/web2 and lbd on lb1/lb2;
#                     it stays up for hands-on use (LAB_PREFIX=name for another copy)
#   make lab-status   what runs where
#   make lab-down     stop and remove everything of the lab (idempotent)
#   make lab-tools    bin/lab-webserver and bin/lab-probe
#
# The top Makefile provides `build` (bin/lbd, bin/lbctl) and GO; `demo` runs
# deploy/lab/demo.sh, which builds what it needs itself.

GO ?= go
LAB_TOOLS := bin/lab-webserver bin/lab-probe

.PHONY: lab-up lab-down lab-status lab-tools $(LAB_TOOLS)

lab-tools: $(LAB_TOOLS)

# Always handed to go build, which knows what is up to date.
bin/lab-webserver:
	$(GO) build -o $@ ./deploy/lab/webserver

bin/lab-probe:
	$(GO) build -o $@ ./deploy/lab/probe

lab-up: build lab-tools
	deploy/lab/lab.sh up
	deploy/lab/lab.sh start

lab-down:
	deploy/lab/lab.sh down

lab-status:
	deploy/lab/lab.sh status
