// The DuckDB yardstick of trenode-query-bench (tests/bench/query_bench.cc):
// loads a synthetic site's CSV files into DuckDB (2 threads) and answers the
// bench's questions, each `rounds` times, in the row shapes of the bench's
// hand-written SQLite SQL (tests/bench/query_bench_cases.h, HandShape).
//
// usage: node duckdb_bench.mjs <site dir> <rounds> [database file]
//
// Prints tab-separated lines the bench reads:
//   engine <version> <threads>
//   load   <ms to load the CSV files>
//   case   <name> <median ms>
//   row    <name> <value>...   values typed: s:<text> i:<integer> d:<double> n: (NULL)
// Install with `npm ci` in this folder. A yardstick only: nothing of the
// node depends on it.
import { DuckDBInstance } from '@duckdb/node-api';
import path from 'node:path';

const [siteDir, roundsText, databaseFile] = process.argv.slice(2);
const rounds = Number.parseInt(roundsText ?? '', 10);
if (!siteDir || !(rounds > 0)) {
  console.error('usage: node duckdb_bench.mjs <site dir> <rounds> [database file]');
  process.exit(2);
}

// Every column typed as the node's catalogue types it: codes are text even
// where they look like numbers (SNOMED CT 250908004).
const tables = {
  person: { person_id: 'VARCHAR', year_of_birth: 'BIGINT', sex: 'VARCHAR', region: 'VARCHAR' },
  condition_occurrence: {
    condition_occurrence_id: 'BIGINT', person_id: 'VARCHAR', condition_code: 'VARCHAR',
    condition_start_date: 'DATE',
  },
  drug_exposure: {
    drug_exposure_id: 'BIGINT', person_id: 'VARCHAR', drug_code: 'VARCHAR', drug_name: 'VARCHAR',
    drug_start_date: 'DATE',
  },
  measurement: {
    measurement_id: 'BIGINT', person_id: 'VARCHAR', measurement_code: 'VARCHAR',
    value_as_number: 'DOUBLE', unit: 'VARCHAR', measurement_date: 'DATE',
  },
};

const ageBand = (y) =>
  `CASE WHEN ${y} IS NULL THEN '(missing)' WHEN 2024 - ${y} < 40 THEN '<40' ` +
  `WHEN 2024 - ${y} < 50 THEN '[40,50)' WHEN 2024 - ${y} < 60 THEN '[50,60)' ` +
  `WHEN 2024 - ${y} < 70 THEN '[60,70)' WHEN 2024 - ${y} < 80 THEN '[70,80)' ELSE '>=80' END`;
const maxOfCode = (code) =>
  `(SELECT person_id, MAX(value_as_number) AS v FROM measurement ` +
  `WHERE measurement_code = '${code}' GROUP BY person_id)`;

// The bench's cases by name; each returns the rows its HandShape expects.
const cases = [
  ['count by age band x sex',
    `SELECT ${ageBand('year_of_birth')}, sex, COUNT(*) FROM person GROUP BY 1, 2`],
  ['undiagnosed heart failure by sex',
    `SELECT sex, COUNT(*) FROM person WHERE person_id IN (SELECT person_id FROM measurement ` +
    `WHERE measurement_code = '250908004' AND value_as_number < 40) AND person_id NOT IN ` +
    `(SELECT person_id FROM condition_occurrence WHERE condition_code LIKE 'I50%') GROUP BY 1`],
  ['crosstab age band x region',
    `SELECT ${ageBand('year_of_birth')}, region, COUNT(*) FROM person GROUP BY 1, 2`],
  ['summary of max BMI by sex',
    `SELECT p.sex, COUNT(*), COUNT(b.v), SUM(b.v), SUM(b.v * b.v) FROM person AS p ` +
    `LEFT JOIN ${maxOfCode('60621009')} AS b ON b.person_id = p.person_id GROUP BY 1`],
  ['regression max LVEF ~ age + male',
    `SELECT COUNT(*), SUM(a), SUM(m), SUM(a * a), SUM(a * m), SUM(m * m), SUM(y), SUM(a * y), ` +
    `SUM(m * y), SUM(y * y) FROM (SELECT 2024 - p.year_of_birth AS a, ` +
    `CASE WHEN p.sex = 'M' THEN 1 ELSE 0 END AS m, l.v AS y FROM ${maxOfCode('250908004')} AS l ` +
    `JOIN person AS p ON p.person_id = l.person_id ` +
    `WHERE l.v IS NOT NULL AND p.year_of_birth IS NOT NULL)`],
];

function typed(value) {
  if (value === null || value === undefined) return 'n:';
  if (typeof value === 'bigint') return `i:${value}`;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? `i:${value}` : `d:${value}`;
  if (typeof value === 'string') return `s:${value}`;
  throw new Error(`unexpected value ${value} (${typeof value})`);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const instance = await DuckDBInstance.create(databaseFile ?? ':memory:', { threads: '2' });
const connection = await instance.connect();
await connection.run('SET threads = 2');
const settings = (await connection.runAndReadAll(
  "SELECT version(), current_setting('threads')")).getRows()[0];
console.log(`engine\t${settings[0]}\t${settings[1]}`);

let start = performance.now();
for (const [table, columns] of Object.entries(tables)) {
  const file = path.join(siteDir, `${table}.csv`).replaceAll("'", "''");
  const types = Object.entries(columns).map(([name, type]) => `'${name}': '${type}'`).join(', ');
  await connection.run(
    `CREATE OR REPLACE TABLE ${table} AS SELECT * FROM read_csv('${file}', header = true, ` +
    `columns = {${types}})`);
}
await connection.run('CHECKPOINT');
console.log(`load\t${(performance.now() - start).toFixed(3)}`);

for (const [name, sql] of cases) {
  const times = [];
  let rows = [];
  for (let round = 0; round < rounds; ++round) {
    start = performance.now();
    rows = (await connection.runAndReadAll(sql)).getRows();
    times.push(performance.now() - start);
  }
  console.log(`case\t${name}\t${median(times).toFixed(3)}`);
  for (const row of rows) console.log(`row\t${name}\t${row.map(typed).join('\t')}`);
}
connection.closeSync();
