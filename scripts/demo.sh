#!/usr/bin/env bash
# The demo: installs what is needed, builds, then runs the agent on
# conf/demo.toml while sluice-loggen writes 4,000 numbered lines into
# demo/logs/app.log and rotates it four times. At the end it checks that
# every line arrived in ./lake exactly once and says where to look.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh release sluice sluice-loggen

bin=build/release
lines=4000
rm -rf demo lake
mkdir -p demo/logs

echo "demo: starting the agent (conf/demo.toml); its log is demo/agent.log"
"$bin/app/sluice" agent --config conf/demo.toml 2> demo/agent.log &
agent=$!
trap 'kill -TERM $agent 2>/dev/null || true' EXIT

echo "demo: writing $lines lines at 250 lines/s into demo/logs/app.log, rotating every 1000 lines"
"$bin/bench/sluice-loggen" --out demo/logs/app.log --lines "$lines" --rate 250 --rotate-every 1000 --keep 5

# Wait until every line is in the lake (the lake sink delivers every 2 s here).
deadline=$((SECONDS + 60))
count_unique() {
  find lake -name '*.jsonl.zst' ! -name '.*' -print0 2>/dev/null | xargs -0 -r zstdcat 2>/dev/null |
    grep -o 'seq=[0-9]*' | sort -u | wc -l
}
while [ "$(count_unique)" -lt "$lines" ] && [ $SECONDS -lt $deadline ]; do sleep 1; done

echo "demo: stopping the agent with SIGTERM"
kill -TERM $agent
wait $agent
trap - EXIT

files=$(find lake -name '*.jsonl.zst' ! -name '.*' | wc -l)
records=$(find lake -name '*.jsonl.zst' ! -name '.*' -print0 | xargs -0 -r zstdcat | wc -l)
unique=$(count_unique)
echo
echo "demo: $lines lines written across $(ls demo/logs | wc -l) files (app.log and its rotations)"
echo "demo: $records records in $files lake files, $unique distinct line numbers"
echo
echo "Look at:"
echo "  find lake -type f                        # lake/raw/app/dt=YYYY-MM-DD/hr=HH/<batch-id>.jsonl.zst"
echo "  zstdcat lake/raw/app/*/*/*.jsonl.zst | head -3"
echo "  less demo/agent.log                      # what the agent did"
echo
zstdcat "$(find lake -name '*.jsonl.zst' ! -name '.*' | sort | head -1)" | head -2
if [ "$records" -ne "$lines" ] || [ "$unique" -ne "$lines" ]; then
  echo "demo: FAILED: expected $lines records, each once" >&2
  exit 1
fi
echo "demo: OK: every line arrived exactly once"
