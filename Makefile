# The README's commands. `make test` is what CI runs (see .ci/run).
.PHONY: run test lint build bench fuzz

run:
	go run ./cmd/opsdeck serve

test:
	go test -count=1 ./...

build:
	go build -o opsdeck ./cmd/opsdeck

lint:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...
	staticcheck ./...

bench:
	go test -run '^$$' -bench . -benchmem ./internal/...

# Short fuzz runs of every parser of outside input.
fuzz:
	go test -run '^$$' -fuzz FuzzLoad -fuzztime 30s ./internal/config/
	go test -run '^$$' -fuzz FuzzDecodeJSON -fuzztime 30s ./internal/web/
	go test -run '^$$' -fuzz FuzzParseCron -fuzztime 30s ./internal/monitor/
	go test -run '^$$' -fuzz FuzzLoadFiles -fuzztime 30s ./internal/monitor/
	go test -run '^$$' -fuzz FuzzParseSettings -fuzztime 30s ./internal/notify/
	go test -run '^$$' -fuzz FuzzCheckKeyAndMessage -fuzztime 30s ./internal/notify/
	go test -run '^$$' -fuzz FuzzLayerShifts -fuzztime 30s ./internal/oncall/
	go test -run '^$$' -fuzz FuzzSchedulePrepare -fuzztime 30s ./internal/oncall/
	go test -run '^$$' -fuzz FuzzParseRestrictions -fuzztime 30s ./internal/web/
	go test -run '^$$' -fuzz FuzzSchemaCheck -fuzztime 30s ./internal/cmdb/
	go test -run '^$$' -fuzz FuzzClock -fuzztime 30s ./internal/servicedesk/
	go test -run '^$$' -fuzz FuzzCalendarCompile -fuzztime 30s ./internal/servicedesk/
	go test -run '^$$' -fuzz FuzzRender -fuzztime 30s ./internal/kb/
	go test -run '^$$' -fuzz FuzzSearch -fuzztime 30s ./internal/kb/
	for f in FuzzParsePerfdata FuzzParseRange FuzzNewHTTP FuzzNewTCP FuzzNewTLS FuzzNewDNS FuzzNewPing FuzzNewNagios; do \
		go test -run '^$$' -fuzz "^$$f$$" -fuzztime 30s ./internal/monitor/probe/ || exit 1; done
	for f in FuzzParsePagerDuty FuzzParseAlertmanager FuzzParseGeneric; do \
		go test -run '^$$' -fuzz "^$$f$$" -fuzztime 30s ./internal/incident/ || exit 1; done
	go test -run '^$$' -fuzz FuzzParseCSV -fuzztime 30s ./internal/asset/
