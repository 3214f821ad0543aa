// Publish driftd events from Node.js: validate each against driftd's event JSON Schema
// (shipped in the SDK: sdk/python/driftd_sdk/schemas/event-v1.schema.json), then send it
// with kafkajs, keyed by model_id (a model's events stay in order on one partition).
//
//   npm install
//   node produce.mjs --brokers 127.0.0.1:9092 --schema PATH/event-v1.schema.json events.jsonl
//
// An invalid event stops the run before anything is sent (exit code 2), naming the line
// and what is wrong: a producer bug is better caught here than as a dead letter.
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import { Kafka, logLevel } from "kafkajs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : fallback;
};
const brokers = option("--brokers", "127.0.0.1:9092").split(",");
const schemaPath = option("--schema", "event-v1.schema.json");
const topics = {
  prediction: option("--predictions-topic", "driftd.predictions"),
  label: option("--labels-topic", "driftd.labels"),
};
const file = args[0] ?? "../events.jsonl";

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")));

const batches = { prediction: [], label: [] };
readFileSync(file, "utf8").split("\n").forEach((line, index) => {
  if (!line.trim()) return;
  const event = JSON.parse(line);
  if (!validate(event)) {
    const why = validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
    console.error(`${file}:${index + 1}: not a driftd event: ${why}`);
    process.exit(2);
  }
  batches[event.type].push({ key: event.model_id, value: line });
});

const kafka = new Kafka({ clientId: "driftd-node-example", brokers, logLevel: logLevel.WARN });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
for (const kind of ["prediction", "label"]) {
  if (batches[kind].length) {
    await producer.send({ topic: topics[kind], messages: batches[kind] });
  }
}
await producer.disconnect();
console.log(`sent ${batches.prediction.length} predictions and ${batches.label.length} labels`);
