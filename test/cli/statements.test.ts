import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { scriptStatements, splitStatements } from '../../src/cli/statements.ts';

describe('splitStatements', () => {
  it('splits at semicolons and keeps the unfinished tail', () => {
    expect(splitStatements('select 1; select 2;\nselect')).toEqual({ statements: ['select 1', 'select 2'], rest: '\nselect' });
  });

  it('ignores semicolons in strings, quoted names and comments', () => {
    const sql = `insert into "a;b" values ('x;''y', [c;d], \`e;\`); -- not; a split\n/* also ; not */ select 1;`;
    expect(splitStatements(sql).statements).toEqual([
      `insert into "a;b" values ('x;''y', [c;d], \`e;\`)`,
      '-- not; a split\n/* also ; not */ select 1',
    ]);
  });

  it('waits for the end of an unterminated string or comment', () => {
    expect(splitStatements("select 'a;").statements).toEqual([]);
    expect(splitStatements("select 'a;").rest).toBe("select 'a;");
    expect(splitStatements('select 1 /* ; ').rest).toBe('select 1 /* ; ');
    expect(splitStatements("select 'a;\nb';").statements).toEqual(["select 'a;\nb'"]);
  });

  it('ends a CREATE TRIGGER only at END;', () => {
    const trigger = 'CREATE TEMP TRIGGER t AFTER INSERT ON x BEGIN\n  insert into y values (1);\n  delete from z;\nEND';
    expect(splitStatements(`${trigger}; select 1;`).statements).toEqual([trigger, 'select 1']);
    expect(splitStatements('create trigger t after insert on x begin select 1;').statements).toEqual([]);
    expect(splitStatements('create table "end"(a); select 2;').statements).toEqual(['create table "end"(a)', 'select 2']);
  });

  it('drops empty statements and leaves no tail for whitespace or comments', () => {
    expect(splitStatements(' ; ;select 1;; -- done\n')).toEqual({ statements: ['select 1'], rest: '' });
  });

  it('gives back the statements a script was joined from', () => {
    const literal = fc.string().map((s) => `'${s.replaceAll("'", "''")}'`);
    const ident = fc.string({ minLength: 1 }).map((s) => `"${s.replaceAll('"', '""')}"`);
    const comment = fc.string().map((s) => `/*${s.replaceAll('*/', '')}*/`);
    const piece = fc.oneof(literal, ident, comment, fc.constantFrom('select', 'x', '1', '(', ')', ',', 'end'));
    const statement = fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => `select ${parts.join(' ')}`);
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 5 }), (statements) => {
        const script = statements.map((s) => `${s};\n`).join('');
        expect(splitStatements(script)).toEqual({ statements, rest: '' });
        expect(scriptStatements(script)).toEqual(statements);
      }),
      { numRuns: 100 },
    );
  });
});

describe('scriptStatements', () => {
  it('treats the tail as a last statement', () => {
    expect(scriptStatements('create table t(a); select * from t')).toEqual(['create table t(a)', 'select * from t']);
    expect(scriptStatements('  ')).toEqual([]);
  });
});
