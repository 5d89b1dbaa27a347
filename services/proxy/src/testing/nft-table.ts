/**
 * Test helper: what one nftables table holds after a series of `nft -f` transactions of the shapes kube-proxy's
 * transactions use (add/flush/delete of chains, sets, maps, elements; add rule), so that tests can compare the
 * outcome of a partial sync with that of a full one. One element per `add element`/`delete element` line; rules in
 * an `add chain NAME { rule ; rule ; }` block and elements in an `add map NAME { ... ; elements = { a, b } ; }` one, as
 * kemu phrases what it gives `nft -f`.
 */
export interface NftTableState {
  chains: Map<string, string[]>;
  /** Sets and maps, by name: their definition and elements (key → the rest of the element text). */
  containers: Map<string, { definition: string; elements: Map<string, string> }>;
}

export function emptyTable(): NftTableState {
  return { chains: new Map(), containers: new Map() };
}

/** Apply a transaction's lines (for table `ip <table>`) to `state`; throws where nft would fail. */
export function applyNft(state: NftTableState, text: string, table = 'kube-proxy'): NftTableState {
  const prefix = ` ip ${table} `;
  for (const line of text.split('\n').filter((l) => l !== '')) {
    const [verb, kind] = line.split(' ', 2);
    const at = line.indexOf(prefix);
    if (kind === 'table') continue;
    if (at < 0) throw new Error(`not table ${table}: ${line}`);
    const rest = line.slice(at + prefix.length);
    const name = rest.split(' ', 1)[0];
    const chain = state.chains.get(name);
    const container = state.containers.get(name);
    const what = `${verb} ${kind}`;
    if (what === 'add chain') {
      const rules = chain ?? [];
      state.chains.set(name, rules);
      // A block of rules (a definition block holds `type ... hook ...` or a comment).
      const block = /^\S+ \{ (.*) ; \}$/.exec(rest)?.[1];
      if (block && !/^(type|comment) /.test(block)) rules.push(...block.split(' ; '));
    } else if (what === 'flush chain') {
      if (!chain) throw new Error(`no chain ${name}`);
      chain.length = 0;
    } else if (what === 'delete chain') {
      if (!chain) throw new Error(`no chain ${name}`);
      if (chain.length > 0) throw new Error(`chain ${name} is not empty`);
      state.chains.delete(name);
    } else if (what === 'add rule') {
      if (!chain) throw new Error(`no chain ${name}`);
      chain.push(rest.slice(name.length + 1));
    } else if (what === 'add set' || what === 'add map') {
      const [definition, elements] = rest.slice(name.length + 1).split(' ; elements = { ');
      const held = container ?? { definition: elements === undefined ? definition : `${definition} ; }`, elements: new Map<string, string>() };
      state.containers.set(name, held);
      for (const e of elements?.replace(/ \} ; \}$/, '').split(', ') ?? []) addElement(held.elements, name, e);
    } else if (what === 'flush set' || what === 'flush map') {
      if (!container) throw new Error(`no set ${name}`);
      container.elements.clear();
    } else if (what === 'delete set') {
      if (!container) throw new Error(`no set ${name}`);
      state.containers.delete(name);
    } else if (what === 'add element' || what === 'delete element') {
      if (!container) throw new Error(`no set ${name}`);
      const body = /^\S+ \{ (.*) \}$/.exec(rest)?.[1] ?? '';
      const key = elementKey(body);
      if (verb === 'delete') {
        if (!container.elements.delete(key)) throw new Error(`no element ${key} in ${name}`);
      } else {
        addElement(container.elements, name, body);
      }
    } else {
      throw new Error(`unknown command: ${line}`);
    }
  }
  return state;
}

/** An element's key: its text before the comment or verdict. */
function elementKey(body: string): string {
  const cut = [' comment ', ' : '].map((s) => body.indexOf(s)).filter((i) => i >= 0);
  return cut.length > 0 ? body.slice(0, Math.min(...cut)) : body;
}

function addElement(elements: Map<string, string>, name: string, body: string): void {
  const key = elementKey(body);
  const held = elements.get(key);
  const value = body.slice(key.length);
  if (held !== undefined && held !== value) throw new Error(`element ${key} of ${name} exists with ${held}`);
  elements.set(key, value);
}

/** The state as sorted lines (a chain's rules in order, on its line), for comparisons that ignore the order of chains, sets and elements. */
export function tableLines(state: NftTableState): string[] {
  const out: string[] = [];
  for (const [c, rules] of state.chains) out.push(`chain ${c} { ${rules.join(' ; ')} }`);
  for (const [n, s] of state.containers) out.push(`set ${n} ${s.definition}`, ...[...s.elements].map(([k, v]) => `set ${n}: ${k}${v}`));
  return out.sort();
}
