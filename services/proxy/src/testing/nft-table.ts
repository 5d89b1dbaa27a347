/**
 * Test helper: what one nftables table holds after a series of `nft -f` transactions of the shapes kube-proxy's
 * transactions use (add/flush/delete of chains, sets, maps, elements; add rule), so that tests can compare the
 * outcome of a partial sync with that of a full one. One element per `add element`/`delete element` line.
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
      if (!chain) state.chains.set(name, []);
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
      if (!container) state.containers.set(name, { definition: rest.slice(name.length + 1), elements: new Map() });
    } else if (what === 'flush set' || what === 'flush map') {
      if (!container) throw new Error(`no set ${name}`);
      container.elements.clear();
    } else if (what === 'delete set') {
      if (!container) throw new Error(`no set ${name}`);
      state.containers.delete(name);
    } else if (what === 'add element' || what === 'delete element') {
      if (!container) throw new Error(`no set ${name}`);
      const body = /^\S+ \{ (.*) \}$/.exec(rest)?.[1] ?? '';
      const cut = [' comment ', ' : '].map((s) => body.indexOf(s)).filter((i) => i >= 0);
      const key = cut.length > 0 ? body.slice(0, Math.min(...cut)) : body;
      if (verb === 'delete') {
        if (!container.elements.delete(key)) throw new Error(`no element ${key} in ${name}`);
      } else {
        const held = container.elements.get(key);
        const value = body.slice(key.length);
        if (held !== undefined && held !== value) throw new Error(`element ${key} of ${name} exists with ${held}`);
        container.elements.set(key, value);
      }
    } else {
      throw new Error(`unknown command: ${line}`);
    }
  }
  return state;
}

/** The state as sorted lines (a chain's rules in order, on its line), for comparisons that ignore the order of chains, sets and elements. */
export function tableLines(state: NftTableState): string[] {
  const out: string[] = [];
  for (const [c, rules] of state.chains) out.push(`chain ${c} { ${rules.join(' ; ')} }`);
  for (const [n, s] of state.containers) out.push(`set ${n} ${s.definition}`, ...[...s.elements].map(([k, v]) => `set ${n}: ${k}${v}`));
  return out.sort();
}
