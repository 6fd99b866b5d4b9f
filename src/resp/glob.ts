type Token =
  | { readonly k: "star" }
  | { readonly k: "one" }
  | { readonly k: "lit"; readonly c: string }
  | { readonly k: "set"; readonly negate: boolean; readonly ranges: readonly (readonly [string, string])[] };

/** Redis glob syntax: `*`, `?`, `[abc]`, `[^a-z]`, and `\x` for a literal x. */
function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === "*") {
      if (tokens.at(-1)?.k !== "star") tokens.push({ k: "star" });
    } else if (c === "?") tokens.push({ k: "one" });
    else if (c === "\\" && i + 1 < chars.length) tokens.push({ k: "lit", c: chars[++i] as string });
    else if (c === "[") {
      let j = i + 1;
      const negate = chars[j] === "^";
      if (negate) j++;
      const ranges: [string, string][] = [];
      for (; j < chars.length && chars[j] !== "]"; j++) {
        let lo = chars[j] as string;
        if (lo === "\\" && j + 1 < chars.length) lo = chars[++j] as string;
        if (chars[j + 1] === "-" && j + 2 < chars.length && chars[j + 2] !== "]") {
          let hi = chars[j + 2] as string;
          j += 2;
          if (hi === "\\" && j + 1 < chars.length) hi = chars[++j] as string;
          ranges.push(lo <= hi ? [lo, hi] : [hi, lo]);
        } else ranges.push([lo, lo]);
      }
      // An unterminated class runs to the end of the pattern, as in Redis.
      tokens.push({ k: "set", negate, ranges });
      i = j;
    } else tokens.push({ k: "lit", c });
  }
  return tokens;
}

function matchesOne(t: Token, c: string): boolean {
  switch (t.k) {
    case "one":
      return true;
    case "lit":
      return t.c === c;
    case "set":
      return t.ranges.some(([lo, hi]) => c >= lo && c <= hi) !== t.negate;
    case "star":
      return false;
  }
}

/**
 * A matcher for a KEYS / SCAN MATCH pattern. Linear backtracking to the last star (no recursion), so
 * a pattern of many stars costs O(pattern × key) at worst, never exponential time.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  if (pattern === "*") return () => true;
  const tokens = tokenize(pattern);
  return (key) => {
    const s = [...key];
    let ti = 0;
    let si = 0;
    let starTi = -1;
    let starSi = 0;
    while (si < s.length) {
      const t = tokens[ti];
      if (t !== undefined && t.k === "star") {
        starTi = ti++;
        starSi = si;
      } else if (t !== undefined && matchesOne(t, s[si] as string)) {
        ti++;
        si++;
      } else if (starTi >= 0) {
        ti = starTi + 1;
        si = ++starSi;
      } else return false;
    }
    while (tokens[ti]?.k === "star") ti++;
    return ti === tokens.length;
  };
}
