#!/usr/bin/env bash
# Publish driftd events from the shell with kcat (Debian/Ubuntu: apt install kcat).
# Each line of events.jsonl is one event (sdk/python/driftd_sdk/schemas/event-v1.schema.json); the
# message key is its model_id, so a model's events stay in order on one partition.
#   BROKERS=127.0.0.1:9092 bash kcat.sh events.jsonl
set -euo pipefail
BROKERS="${BROKERS:-127.0.0.1:9092}"
PREDICTIONS="${PREDICTIONS_TOPIC:-driftd.predictions}"
LABELS="${LABELS_TOPIC:-driftd.labels}"
file="${1:-events.jsonl}"
# Predictions and labels go to their own topics; "model_id|{json}" lines, keyed by the
# text before the first '|'.
for kind in prediction label; do
  topic="$PREDICTIONS"; [ "$kind" = label ] && topic="$LABELS"
  grep "\"type\": *\"$kind\"" "$file" \
    | sed -E 's/^(.*"model_id": *"([^"]*)".*)$/\2|\1/' \
    | kcat -b "$BROKERS" -t "$topic" -P -K '|'
done
