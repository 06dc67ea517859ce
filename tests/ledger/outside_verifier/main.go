// Command outside_verifier checks the ledger's signed checkpoints and RFC 9162
// proofs with an implementation that shares no code with the ledger:
// golang.org/x/mod/sumdb/note (C2SP signed notes, Ed25519) and
// golang.org/x/mod/sumdb/tlog (RFC 6962 trees, the Go checksum database's).
//
// It reads one JSON object on stdin:
//
//	{"vkey": "<name>+<hex id>+<base64 key>",
//	 "checkpoint": "<signed note text>",
//	 "old_checkpoint": "<signed note text of an earlier size>",   (optional)
//	 "inclusion": [{"index", "size", "leaf_data_b64", "proof": [b64...], "root"}],
//	 "consistency": [{"from", "to", "from_root", "to_root", "proof": [b64...]}]}
//
// Only the verifier key is trusted. Checkpoints must be signed by it; leaf
// hashes are computed here from the raw entry bytes. A proof's root is the
// signed one when its size is a signed checkpoint's size, or one that a
// verified consistency proof ties to a signed root; otherwise the served root
// is used, and such proofs are counted as unanchored on stderr.
//
// It prints "OK <n> inclusion, <m> consistency" and exits 0, or prints the
// first failure and exits 1.
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	Index       *int64   `json:"index"`
	Size        *int64   `json:"size"`
	LeafDataB64 *string  `json:"leaf_data_b64"`
	LeafHash    *string  `json:"leaf_hash"` // the server's; never trusted, must agree if given
	Proof       []string `json:"proof"`
	Root        *string  `json:"root"`
}

type consistency struct {
	From     *int64   `json:"from"`
	To       *int64   `json:"to"`
	FromRoot *string  `json:"from_root"`
	ToRoot   *string  `json:"to_root"`
	Proof    []string `json:"proof"`
}

type input struct {
	Vkey          string        `json:"vkey"`
	Checkpoint    string        `json:"checkpoint"`
	OldCheckpoint *string       `json:"old_checkpoint"`
	Inclusion     []inclusion   `json:"inclusion"`
	Consistency   []consistency `json:"consistency"`
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func main() {
	msg, err := run(os.Stdin, os.Stderr)
	if err != nil {
		fmt.Println("FAIL", err)
		os.Exit(1)
	}
	fmt.Println(msg)
}

func run(stdin io.Reader, stderr io.Writer) (string, error) {
	var in input
	dec := json.NewDecoder(stdin)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return "", fmt.Errorf("input: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("input: more than one JSON value")
	}

	verifier, err := note.NewVerifier(strings.TrimSuffix(in.Vkey, "\n"))
	if err != nil {
		return "", fmt.Errorf("verifier key: %v", err)
	}
	verifiers := note.VerifierList(verifier)

	cur, err := openCheckpoint("checkpoint", in.Checkpoint, verifiers)
	if err != nil {
		return "", err
	}
	if cur.origin != verifier.Name() {
		// The ledger names its key after its origin; a checkpoint for another
		// log signed with this key would be a different log's statement.
		return "", fmt.Errorf("checkpoint: origin %q is not the key name %q", cur.origin, verifier.Name())
	}
	// trusted maps tree sizes to roots that are signed, or proven consistent
	// with a signed root.
	trusted := map[int64]tlog.Hash{cur.size: cur.root}
	var old *checkpoint
	if in.OldCheckpoint != nil {
		o, err := openCheckpoint("old checkpoint", *in.OldCheckpoint, verifiers)
		if err != nil {
			return "", err
		}
		if o.origin != cur.origin {
			return "", fmt.Errorf("old checkpoint: origin %q differs from %q", o.origin, cur.origin)
		}
		if o.size > cur.size {
			return "", fmt.Errorf("old checkpoint: size %d is beyond the checkpoint's %d", o.size, cur.size)
		}
		if o.size == cur.size && o.root != cur.root {
			return "", fmt.Errorf("old checkpoint: two signed roots for size %d (fork)", o.size)
		}
		old = &o
		trusted[o.size] = o.root
	}

	// Consistency proofs first: each must verify with tlog.CheckTree on its
	// own, and its roots must match any signed root for the same size.
	type proven struct {
		from, to         int64
		fromRoot, toRoot tlog.Hash
	}
	var chain []proven
	for i, c := range in.Consistency {
		what := fmt.Sprintf("consistency[%d]", i)
		if c.From == nil || c.To == nil || c.FromRoot == nil || c.ToRoot == nil || c.Proof == nil {
			return "", fmt.Errorf("%s: needs from, to, from_root, to_root and proof", what)
		}
		from, to := *c.From, *c.To
		what = fmt.Sprintf("consistency[%d] (%d -> %d)", i, from, to)
		fromRoot, err := decodeHash(*c.FromRoot)
		if err != nil {
			return "", fmt.Errorf("%s: from_root: %v", what, err)
		}
		toRoot, err := decodeHash(*c.ToRoot)
		if err != nil {
			return "", fmt.Errorf("%s: to_root: %v", what, err)
		}
		proof, err := decodeHashes(c.Proof)
		if err != nil {
			return "", fmt.Errorf("%s: proof: %v", what, err)
		}
		if from < 1 || to < from {
			return "", fmt.Errorf("%s: sizes must satisfy 1 <= from <= to", what)
		}
		if to > cur.size {
			return "", fmt.Errorf("%s: beyond the signed size %d", what, cur.size)
		}
		if err := tlog.CheckTree(tlog.TreeProof(proof), to, toRoot, from, fromRoot); err != nil {
			return "", fmt.Errorf("%s: tlog.CheckTree: %v", what, err)
		}
		chain = append(chain, proven{from, to, fromRoot, toRoot})
	}
	// Anchor: a signed (or already anchored) root commits to every prefix of
	// its tree, so a verified proof ending at a trusted root makes the root at
	// its start trusted too. Trust never flows the other way: a tree that
	// merely extends a signed one is not thereby signed.
	for changed := true; changed; {
		changed = false
		for _, p := range chain {
			if r, ok := trusted[p.to]; ok && r == p.toRoot {
				if _, ok := trusted[p.from]; !ok {
					trusted[p.from] = p.fromRoot
					changed = true
				}
			}
		}
	}
	for i, p := range chain {
		for _, end := range []struct {
			size int64
			root tlog.Hash
		}{{p.from, p.fromRoot}, {p.to, p.toRoot}} {
			if r, ok := trusted[end.size]; ok && r != end.root {
				return "", fmt.Errorf("consistency[%d] (%d -> %d): root for size %d differs from the signed one",
					i, p.from, p.to, end.size)
			}
		}
	}
	if old != nil && old.size != cur.size {
		linked := false
		for _, p := range chain {
			if p.from == old.size && p.to == cur.size && p.fromRoot == old.root && p.toRoot == cur.root {
				linked = true
			}
		}
		if !linked {
			return "", fmt.Errorf("no consistency proof from the old checkpoint (%d) to the checkpoint (%d)",
				old.size, cur.size)
		}
	}

	unanchored := 0
	for i, inc := range in.Inclusion {
		what := fmt.Sprintf("inclusion[%d]", i)
		if inc.Index == nil || inc.Size == nil || inc.LeafDataB64 == nil || inc.Proof == nil {
			return "", fmt.Errorf("%s: needs index, size, leaf_data_b64 and proof", what)
		}
		index, size := *inc.Index, *inc.Size
		what = fmt.Sprintf("inclusion[%d] (index %d, size %d)", i, index, size)
		data, err := base64.StdEncoding.Strict().DecodeString(*inc.LeafDataB64)
		if err != nil {
			return "", fmt.Errorf("%s: leaf_data_b64: %v", what, err)
		}
		leaf := tlog.RecordHash(data)
		if inc.LeafHash != nil {
			served, err := decodeHash(*inc.LeafHash)
			if err != nil {
				return "", fmt.Errorf("%s: leaf_hash: %v", what, err)
			}
			if served != leaf {
				return "", fmt.Errorf("%s: served leaf_hash is not the hash of the leaf data", what)
			}
		}
		proof, err := decodeHashes(inc.Proof)
		if err != nil {
			return "", fmt.Errorf("%s: proof: %v", what, err)
		}
		if size > cur.size {
			return "", fmt.Errorf("%s: beyond the signed size %d", what, cur.size)
		}
		root, ok := trusted[size]
		if inc.Root != nil {
			served, err := decodeHash(*inc.Root)
			if err != nil {
				return "", fmt.Errorf("%s: root: %v", what, err)
			}
			if ok && served != root {
				return "", fmt.Errorf("%s: served root differs from the signed root", what)
			}
			if !ok {
				root = served
				unanchored++
			}
		} else if !ok {
			return "", fmt.Errorf("%s: no root served and no signed root for this size", what)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(proof), size, root, index, leaf); err != nil {
			return "", fmt.Errorf("%s: tlog.CheckRecord: %v", what, err)
		}
	}
	if unanchored > 0 {
		fmt.Fprintf(stderr, "note: %d inclusion proof(s) checked against served roots not tied to a signed checkpoint\n", unanchored)
	}
	return fmt.Sprintf("OK %d inclusion, %d consistency", len(in.Inclusion), len(in.Consistency)), nil
}

// openCheckpoint verifies the note's signature with note.Open, then parses the
// C2SP tlog-checkpoint body: origin, decimal size, base64 root, optional
// extension lines.
func openCheckpoint(what, text string, verifiers note.Verifiers) (checkpoint, error) {
	n, err := note.Open([]byte(text), verifiers)
	if err != nil {
		return checkpoint{}, fmt.Errorf("%s: note.Open: %v", what, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return checkpoint{}, fmt.Errorf("%s: body needs origin, size and root lines", what)
	}
	origin, sizeLine, rootLine := lines[0], lines[1], lines[2]
	if origin == "" {
		return checkpoint{}, fmt.Errorf("%s: empty origin", what)
	}
	size, err := strconv.ParseInt(sizeLine, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeLine {
		return checkpoint{}, fmt.Errorf("%s: size %q is not a canonical decimal number", what, sizeLine)
	}
	root, err := decodeHash(rootLine)
	if err != nil {
		return checkpoint{}, fmt.Errorf("%s: root: %v", what, err)
	}
	for _, ext := range lines[3 : len(lines)-1] {
		if ext == "" {
			return checkpoint{}, fmt.Errorf("%s: empty extension line", what)
		}
	}
	return checkpoint{origin: origin, size: size, root: root}, nil
}

func decodeHash(s string) (tlog.Hash, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return tlog.Hash{}, err
	}
	if len(raw) != tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("%d bytes, not %d", len(raw), tlog.HashSize)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h, nil
}

func decodeHashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, 0, len(list))
	for i, s := range list {
		h, err := decodeHash(s)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %v", i, err)
		}
		out = append(out, h)
	}
	return out, nil
}
