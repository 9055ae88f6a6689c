// Counts non-null assertions (`x!` in any position: NonNullExpression) and `as` casts (AsExpression and <T>x, not
// `as const`) in the tracked TypeScript files under the given folders (default: src-main), syntax only, with the
// TypeScript compiler API. The numbers in the issue-15 closing notes come from this script.
//   node test/support/count-assertions.mjs [-v] [folder…]     (-v: also the files with the most, up to 25)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const ts = createRequire(import.meta.url)('typescript');
const args = process.argv.slice(2);
const verbose = args.includes('-v');
const folders = args.filter((a) => a !== '-v');
const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
const files = execFileSync('git', ['ls-files', ...(folders.length ? folders : ['src-main'])], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((f) => /\.tsx?$/.test(f));
let nonNull = 0;
let casts = 0;
const per = {};
for (const f of files) {
  const kind = f.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(f, readFileSync(`${root}/${f}`, 'utf8'), ts.ScriptTarget.Latest, true, kind);
  const count = (what) => {
    if (what === 'nonNull') nonNull++;
    else casts++;
    per[f] = (per[f] ?? 0) + 1;
  };
  const visit = (n) => {
    if (ts.isNonNullExpression(n)) count('nonNull');
    if (ts.isAsExpression(n) && !(ts.isTypeReferenceNode(n.type) && n.type.typeName.getText(sf) === 'const')) count('cast');
    if (ts.isTypeAssertionExpression(n)) count('cast');
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
console.log(JSON.stringify({ files: files.length, nonNull, casts }));
if (verbose)
  console.log(
    Object.entries(per)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([f, n]) => `${n}\t${f}`)
      .join('\n'),
  );
