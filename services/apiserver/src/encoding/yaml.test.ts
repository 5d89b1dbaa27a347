import { describe, expect, it } from 'vitest';
import { parseYamlBody } from './yaml.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code: number; message: string }).code;
  }
  return 0;
};

describe('YAML bodies', () => {
  it('parses an ordinary document', () => {
    expect(parseYamlBody('apiVersion: v1\nkind: ConfigMap\ndata: {a: "1"}\n')).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', data: { a: '1' } });
  });
  it('refuses a billion-laughs document with a 400', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    expect(code(() => parseYamlBody(lines.join('\n')))).toBe(400);
  });
  it('refuses a deeply nested document with a 400', () => {
    expect(code(() => parseYamlBody('['.repeat(5000) + ']'.repeat(5000)))).toBe(400);
    let text = '';
    for (let i = 0; i < 1500; i++) text += `${' '.repeat(i)}a:\n`;
    expect(code(() => parseYamlBody(text))).toBe(400);
  });
});
