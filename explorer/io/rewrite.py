"""Rewrite a recognised CSP stage of a Darknet cfg to another fusion strategy ("what if this cfg fused last?").

Pure Python, text in and text out: the cfg is read with :func:`explorer.io.darknet.read_sections` and
:func:`explorer.io.darknet.parse_cfg` (which recognises the CSP stages and their layers' roles), the
stage's layers are changed, every ``[route] layers=`` and ``[shortcut]``/``[scale_channels] from=``
index is renumbered (written relative where the file wrote it relative, absolute where absolute), and
the new text is parsed again and checked to be the asked-for fusion.  Nothing is ever executed.

The CSPNet paper's Fig. 3 on a stage ``split -> block path -> [partial transition] -> concat with part 1
-> [transition]``:

* ``csp``: a 1x1 partial transition ends the block path and a 1x1 transition follows the concat;
* ``fusion_first``: no partial transition (the concat takes the block's output), the transition stays;
* ``fusion_last``: the partial transition stays, nothing after the concat.

A transition that is added keeps the stage's output width (the old concat width), so the next stage's
input is unchanged; a partial transition that is added keeps the block path's width (transition ratio
1).  Added convs copy ``batch_normalize`` and ``activation`` from the stage's other 1x1 transition (or
its part 1 conv).  Dropping a transition makes the stage's output the concat (its width may change; the
next layers read whatever width they get, as Darknet infers input channels).  Comments are not kept.

:func:`rewrite_plain` rewrites a stage as a **plain stage** (fusion ``none``), laid out as the design families
lay out fusion ``none`` (``cspnet.families._crossstage``): the split, the partial transition, the concat and the
transition go; a backbone stage runs its blocks at its down-sampling conv's width (that conv going to the
stage's output width), a neck stage opens with a 1x1 entry conv to its output width; the blocks keep their
own ratio (every block-path conv whose width was part 2's takes the new block width, the others scale with
it); a 1x1 transition to the stage's old output width ends the stage where the block path's width is not it,
so every later layer is unchanged.  :func:`plain_twin` does it to every CSP stage: the cfg's **plain twin**
(the ``darknet_cfg`` design's ``fusion='none'``, ``CSPConfig.twin()``).  The check that it is the design
families' twin: for ``cspdarknet53``, ``yolov4_csp_backbone``, the ``cs3darknet``, ``yolov5 *_cls`` and
``yolov8 *_cls`` presets, ``plain_twin`` of the design's Darknet export has the parameters and BFLOPs, stage by
stage, of the export of ``design.twin()`` (tests/test_rewrite.py checks a sample, and the CSPNet authors'
csdarknet53 pattern against ``cspdarknet53``'s twin).  Not for ResNet/ResNeXt (the family's plain stage has no
down conv: its first block strides, torchvision's layout), YOLOv7's ELAN nor CSPNeXt (its block's last
pointwise conv reads as a partial transition here).  Not Darknet-53 either: CSPDarknet-53's blocks keep
their 1x1 at the block width (bottle ratio 1), where Darknet-53's halve it.  A dense stage (a pooled
transition) has no plain stage here (refused, naming the stage).

:func:`rewrite_split` changes a stage's split: the share of its split channels that part 2 (the block
path) takes, ``part2_share`` (named apart from the design field ``split_ratio``, which this file's stages
do not read).  Where the split is made by two 1x1 convs (the
CSPNet authors' cfgs: part 1's conv, a route back, part 2's conv) the two convs keep their sum ``C``
and take ``C - floor(C x ratio)`` and ``floor(C x ratio)`` filters.  Where it is a sliced split
(``[route] groups`` slices of one layer, as ``explorer.io.darknet_export`` writes it) part 1's and
part 2's slice routes are replaced by those of the new widths (the exporter's chunk writer,
``slice_chunks``: one route per part where one slice is the part, else the fewest aligned slices and a
concat of them; at most ``MAX_ROUTE_INPUTS`` per part) and every later layer reference is renumbered.
In both, every conv of the block path whose width was part 2's takes the new part 2 width, the others
(bottleneck mids, a dense block's growth) scale with it, and the partial transition keeps its ratio to
part 2.  Grouped convs on the block path are not rewritten; neither is a ratio whose new widths a later
layer cannot read (e.g. a dense stage whose output width changes before the next stage's slices).
A channel attention after the concat (``post``) stays with the concat: a transition added by
:func:`rewrite_fusion` comes after it.
"""
from __future__ import annotations

from cspnet.errors import ConfigError

from .darknet import Section, csp_tap_layers, parse_cfg, read_sections

FUSIONS = ("csp", "fusion_first", "fusion_last")


def csp_stages(net) -> list:
    """The recognised CSP stages of a parsed cfg: [(stage name, fusion)]."""
    return [(info.name, info.fusion) for info in net.stages if info.kind == "stage" and info.fusion != "none"]


def network_fusion(net) -> str:
    """The fusion a whole imported network states: ``none`` without a recognised CSP stage, else the
    fusion its CSP stages share, else (mixed) the first CSP stage's."""
    fusions = [f for _, f in csp_stages(net)]
    return fusions[0] if fusions else "none"


def _conv(filters: int, like: Section | None) -> Section:
    opts = like.options if like is not None else {}
    bn = opts.get("batch_normalize", ("1", 0))[0]
    act = opts.get("activation", ("leaky", 0))[0]
    return Section("convolutional", 0, {"batch_normalize": (bn, 0), "filters": (str(filters), 0), "size": ("1", 0),
                                        "stride": ("1", 0), "pad": ("1", 0), "activation": (act, 0)})


def rewrite_fusion(text, stage: str, fusion: str) -> str:
    """The cfg ``text`` with CSP stage ``stage`` ("stages.1") rewritten to ``fusion`` (csp, fusion_first,
    fusion_last; none: :func:`rewrite_plain`).  Raises ConfigError (field ``network``, or ``fusion`` for a
    fusion not offered) when the stage is no recognised CSP stage, its pattern does not allow the change or the
    rewritten cfg does not read (a later layer cannot take the stage's new output width, e.g. [route] groups slices)."""
    if fusion == "none":
        return rewrite_plain(text, stage)
    if fusion not in FUSIONS:
        raise ConfigError("fusion", f"{fusion!r}: an imported CSP stage can be rewritten as {', '.join(FUSIONS)} "
                          "or none (a plain stage)")
    net = parse_cfg(text)
    info = next((s for s in net.stages if s.name == stage), None)
    if info is None or info.kind != "stage" or info.fusion == "none":
        names = ", ".join(n for n, _ in csp_stages(net)) or "none"
        raise ConfigError("network", f"{stage} is no recognised CSP stage of this network (CSP stages: {names})")
    if info.fusion == fusion:
        return text if isinstance(text, str) else bytes(text).decode("utf-8")
    roles = info.roles
    pt = roles["partial_transition"][0] if roles["partial_transition"] else None
    be = roles["block_end"][0]
    cat = roles["concat"][0]
    cat_out = roles["post"][-1] if roles.get("post") else cat    # the concat, or the attention scaling it
    trs = list(roles["transition"])
    if (pt if pt is not None else be) != cat - 1:
        raise ConfigError("network", f"{stage}: layers between the block path and the concat (layer {cat}); "
                          "this pattern is not rewritten")
    want_pt, want_tr = fusion in ("csp", "fusion_last"), fusion in ("csp", "fusion_first")
    sections = read_sections(text)
    layers = sections[1:]
    if pt is not None:
        like = layers[pt]
    elif trs:
        like = layers[trs[0]]
    else:
        like = layers[roles["part1"][-1]] if roles["part1"] else None

    items: list = []          # (Section, old index or None)
    pos: dict = {}            # old index -> new position
    redirect: dict = {}       # deleted old index -> the old index that takes its place
    new_pt = new_tr = None
    for i, sec in enumerate(layers):
        if i == pt and not want_pt:
            redirect[i] = be
            continue
        if i in trs and not want_tr:
            redirect[i] = cat_out
            continue
        pos[i] = len(items)
        items.append((sec, i))
        if i == be and want_pt and pt is None:
            new_pt = len(items)
            items.append((_conv(net.layers[be].out_shape[0], like), None))
        if i == cat_out and want_tr and not trs:
            new_tr = len(items)
            items.append((_conv(net.layers[cat].out_shape[0], like), None))

    def target(reader: int, j: int) -> int:
        if reader == cat and j in (be, pt):       # the concat's block-path input
            if want_pt:
                return pos[pt] if pt is not None else new_pt
            return pos[be]
        j = redirect.get(j, j)
        if new_tr is not None and j == cat_out and reader > cat_out:   # the stage output is now the transition
            return new_tr
        return pos[j]

    out = [f"# rewritten by CSPNet Explorer: {stage} {info.fusion} -> {fusion}", "", _section_text(sections[0])]
    for p, (sec, old) in enumerate(items):
        opts = dict(sec.options)
        if old is not None:
            layer = net.layers[old]
            if layer.kind == "route":
                tokens = opts["layers"][0].split(",")
                vals = [target(old, j) for j in layer.inputs]
                opts["layers"] = (",".join(str(q - p) if t.strip().startswith("-") else str(q)
                                           for t, q in zip(tokens, vals)), 0)
            elif layer.kind in ("shortcut", "scale_channels"):
                q = target(old, layer.inputs[1])
                opts["from"] = (str(q - p) if opts["from"][0].strip().startswith("-") else str(q), 0)
        out.append(_section_text(Section(sec.name, sec.line, opts)))
    new_text = "\n".join(out) + "\n"
    try:
        again = parse_cfg(new_text)
    except ConfigError as exc:   # e.g. a later split's [route] groups no longer divide the stage's new width
        raise ConfigError("network", f"{stage}: as {fusion} the rewritten cfg does not read ({exc.detail}); "
                          "this stage is not rewritten") from None
    got = next((s.fusion for s in again.stages if s.name == stage), None)
    if got != fusion:
        raise ConfigError("network", f"{stage}: the rewritten stage reads as {got or 'no stage'}, not {fusion}; "
                          "this pattern is not rewritten")
    return new_text


def rewrite_plain(text, stage: str) -> str:
    """The cfg ``text`` with CSP stage ``stage`` rewritten as a plain stage (fusion ``none``), as the design
    families lay out a plain stage (``cspnet.families._crossstage.lineage_layout`` with fusion ``none``):

    * the split goes (part 1's path, the split route, part 2's 1x1 conv or slices), and so do the partial
      transition, the concat, what follows the concat (``post``) and the transitions;
    * a **backbone** stage keeps its down-sampling conv (as written) and runs its blocks at the width of the
      tensor the split read (the down conv's, or the stage's input: ``block_ch = ch_in``); a 1x1 ``expand``
      conv before the split goes with the split;
    * a **neck** stage runs its blocks at the stage's output width and opens with a 1x1 ``entry`` conv to that
      width from its input (its own 1x1 ``expand`` conv where it has one, with the stage's width; none where
      the input already has it);
    * the blocks keep their own ratio: every conv of the block path whose width was part 2's takes the new
      block width, the others (bottleneck mids, a dense block's growth) scale with it (as :func:`rewrite_split`
      scales them; a depthwise conv keeps groups = channels);
    * a 1x1 transition to the stage's old output width ends the stage where the block path's width is not it,
      so every later layer reads what it read before (checked: every layer outside the rewritten stage keeps
      its output shape).

    Added convs copy ``batch_normalize`` and ``activation`` from the stage's transition (or its partial
    transition, or its part 2 / part 1 conv).  Every ``[route]``/``[shortcut]``/``[scale_channels]`` index is
    renumbered (relative where written relative).  Raises ConfigError (field ``network``) where the stage is no
    recognised CSP stage or its pattern is not rewritten (layers between the block path and the concat, a
    pooled transition, a later layer reading the split, a rewritten cfg that does not read)."""
    return _rewrite_plain(text, stage, parse_cfg(text))[0]


def _rewrite_plain(text, stage: str, net) -> tuple:
    """:func:`rewrite_plain` of ``text`` whose parsed network is ``net``: (the new text, its parsed network)."""
    info = next((s for s in net.stages if s.name == stage), None)
    if info is None or info.kind != "stage" or info.fusion == "none":
        names = ", ".join(n for n, _ in csp_stages(net)) or "none"
        raise ConfigError("network", f"{stage} is no recognised CSP stage of this network (CSP stages: {names})")
    layers, roles = net.layers, info.roles
    r = roles["split"][0]
    x = layers[r].inputs[0]
    first, be, cat = roles["block"][0] if roles["block"] else None, roles["block_end"][0], roles["concat"][0]
    pt = roles["partial_transition"][0] if roles["partial_transition"] else None
    taps_all = len(layers[cat].inputs) > 2       # C2f/ELAN-like: every block's output is concatenated
    trs = list(roles["transition"][:1])          # (more 1x1 convs after it read its output: they stay)
    out_layer = trs[-1] if trs else (roles["post"][-1] if roles["post"] else cat)
    if first is None or (pt if pt is not None else be) != cat - 1 or (taps_all and pt is not None) \
            or any(layers[j].kind != "conv" for j in roles["partial_transition"] + roles["transition"]):
        raise ConfigError("network", f"{stage}: no block path, layers between it and the concat, or a pooled "
                          "transition (a dense stage's); this pattern has no plain stage here")
    path_end = cat if taps_all else be           # where the plain block path ends (the taps' concat stays)
    tail = set(range(path_end + 1, out_layer + 1))
    width = layers[out_layer].out_shape[0]        # the stage's output width: kept
    neck = info.part == "neck"
    expand = roles["expand"][0] if roles["expand"] else None
    down = info.start if layers[info.start].kind == "conv" and layers[info.start].attrs["stride"] > 1 else None
    split = set(range(x + 1, first))              # part 1's path, the split route(s), part 2's conv or slices
    filters, groups = {}, {}
    if neck:                                       # the entry: the expand conv (its filters set) or a conv added
        block_in, block_ch = x, width
        entry_new = expand is None and layers[x].out_shape[0] != width
        if expand is not None:
            filters[expand] = width
    else:   # blocks at the down conv's width, the down conv going to the stage's (else at the stage's input)
        if down is not None:
            block_ch = filters[down] = width
        else:
            block_ch = layers[info.start].in_shape[0]
        if expand is not None and layers[expand].inputs[0] == (down if down is not None else info.start - 1):
            split.add(expand)                      # the plain stage has no expand ...
            block_in = layers[expand].inputs[0]
        elif expand is not None:                   # ... but after layers of its own (an SPP) its 1x1 conv stays
            block_in, filters[expand] = expand, block_ch
        else:
            block_in = x
        if layers[block_in].out_shape[0] != block_ch and block_in not in filters:
            raise ConfigError("network", f"{stage}: its split reads layer {block_in}, neither the down-sampling conv "
                              "nor the stage's input; this pattern has no plain stage here")
        entry_new = False
    dropped = split | tail
    p1 = csp_tap_layers(roles)["part1"]
    readers = [j for j in range(len(layers)) if j not in dropped and not first <= j <= path_end
               and any(i in split for i in layers[j].inputs)]
    if readers:
        raise ConfigError("network", f"{stage}: layer {readers[0]} reads a layer of the stage's CSP split; "
                          "this pattern has no plain stage here")
    old2 = net.plan.stage(stage).taps["part2"][0]
    for j in roles["block"]:
        layer = layers[j]
        if layer.kind != "conv":
            continue
        f = layer.out_shape[0]
        new = block_ch if f == old2 else max(1, round(f * block_ch / old2))
        if new != f:
            filters[j] = new
            g = layer.attrs.get("groups", 1)
            if g != 1 and g == f == layer.in_shape[0]:     # depthwise stays depthwise
                groups[j] = new
    sections = read_sections(text)
    like_tr = sections[1 + (trs[-1] if trs else pt if pt is not None else p1)]
    like_in = sections[1 + (roles["part2"][0] if roles["part2"] and layers[roles["part2"][0]].kind == "conv"
                            else p1)]

    def write(with_transition: bool) -> tuple:
        items: list = []          # (Section, old index or None)
        pos: dict = {}
        new_in = new_tr = None
        for i, sec in enumerate(sections[1:]):
            if i == first and entry_new:
                new_in = len(items)
                items.append((_conv(width, like_in), None))
            if i in dropped:
                continue
            pos[i] = len(items)
            items.append((sec, i))
            if i == path_end and with_transition:
                new_tr = len(items)
                items.append((_conv(width, like_tr), None))
        start = pos[block_in] if new_in is None else new_in
        stop = pos[path_end] if new_tr is None else new_tr

        def target(j: int) -> int:      # the split's layers: the block path's input; the fusion's: the output
            return start if j in split else stop if j in tail else pos[j]

        out = [f"# rewritten by CSPNet Explorer: {stage} {info.fusion} -> none (a plain stage)", "",
               _section_text(sections[0])]
        for p, (sec, old) in enumerate(items):
            opts = dict(sec.options)
            if old is not None:
                layer = layers[old]
                if old in filters:
                    opts["filters"] = (str(filters[old]), 0)
                if old in groups:
                    opts["groups"] = (str(groups[old]), 0)
                if layer.kind == "route":
                    refs = list(zip(opts["layers"][0].split(","), layer.inputs))
                    if old == cat:      # the taps' concat: without part 1
                        refs = [(t, j) for t, j in refs if j != p1]
                    opts["layers"] = (",".join(str(target(j) - p) if t.strip().startswith("-") else str(target(j))
                                               for t, j in refs), 0)
                elif layer.kind in ("shortcut", "scale_channels"):
                    q = target(layer.inputs[1])
                    opts["from"] = (str(q - p) if opts["from"][0].strip().startswith("-") else str(q), 0)
            out.append(_section_text(Section(sec.name, sec.line, opts)))
        return "\n".join(out) + "\n", pos, new_tr

    def read(new_text: str):
        try:
            return parse_cfg(new_text)
        except ConfigError as exc:
            raise ConfigError("network", f"{stage}: as a plain stage the rewritten cfg does not read ({exc.detail}); "
                              "this stage is not rewritten") from None

    new_text, pos, new_tr = write(True)
    again = read(new_text)
    if not taps_all and again.layers[new_tr].in_shape[0] == width:   # the path ends at the stage's width
        new_text, pos, new_tr = write(False)
        again = read(new_text)
    free = set(roles["block"]) | set(filters) | {cat}     # the layers whose width may change
    changed = [i for i, q in pos.items() if i not in free and again.layers[q].out_shape != layers[i].out_shape]
    if changed:
        raise ConfigError("network", f"{stage}: as a plain stage layer {changed[0]}'s output changes "
                          f"({layers[changed[0]].out_shape} -> {again.layers[pos[changed[0]]].out_shape}); "
                          "this stage is not rewritten")
    if len(csp_stages(again)) != len(csp_stages(net)) - 1:
        raise ConfigError("network", f"{stage}: the rewritten cfg does not read as one CSP stage fewer; "
                          "this stage is not rewritten")
    return new_text, again


def plain_twin(text) -> str:
    """The cfg ``text`` with every recognised CSP stage rewritten as a plain stage (:func:`rewrite_plain`, first
    stage first, the cfg parsed again after each): the network's **plain twin**, the same stages, blocks and
    head without CSP.  A cfg without CSP stages is its own twin (returned as it is).  Raises ConfigError
    (field ``network``) naming the first stage that has no plain stage here."""
    text = text if isinstance(text, str) else bytes(text).decode("utf-8")
    done, net = [], parse_cfg(text)
    while True:
        stages = csp_stages(net)
        if not stages:
            break
        stage = stages[0][0]
        text, net = _rewrite_plain(text, stage, net)   # (its check parsed the new text: each text parsed once)
        done.append(stage)
    if not done:
        return text
    body = text.split("\n", 2)[2] if text.startswith("# rewritten by") else text
    return (f"# plain twin by CSPNet Explorer (explorer.io.rewrite.plain_twin): {len(done)} CSP stage(s) rewritten "
            "as plain stages\n" + body)


def rewrite_split(text, stage: str, part2_share: float) -> str:
    """The cfg ``text`` with CSP stage ``stage``'s split set to ``part2_share``: the share of ``C`` (part 1's
    plus part 2's channels, kept) that part 2 takes through the block path, ``floor(C x part2_share)``.
    Not the design field ``split_ratio`` (which a darknet_cfg design does not read): one stage of the file.
    Raises ConfigError (field ``network``, or ``part2_share`` for a share that leaves a part empty or needs
    more slices or layers than a cfg takes) where the pattern does not allow it."""
    import math

    net = parse_cfg(text)
    info = next((s for s in net.stages if s.name == stage), None)
    if info is None or info.kind != "stage" or info.fusion == "none":
        names = ", ".join(n for n, _ in csp_stages(net)) or "none"
        raise ConfigError("network", f"{stage} is no recognised CSP stage of this network (CSP stages: {names})")
    roles = info.roles
    layers = net.layers
    p1 = roles["part1"][-1] if roles["part1"] else None
    sliced = roles["sliced"]
    if not sliced and (not roles["part2"] or p1 is None or layers[p1].kind != "conv"):
        raise ConfigError("network", f"{stage}: its split is neither two 1x1 convs nor [route] groups slices of "
                          "one layer: its split ratio is fixed by the file")
    taps = net.plan.stage(stage).taps
    old1, old2 = taps["part1"][0], taps["part2"][0]
    c = old1 + old2
    new2 = math.floor(c * part2_share)
    if not 1 <= new2 < c:
        raise ConfigError("part2_share", f"{part2_share:g} splits {stage}'s {c} channels into {c - new2} + {new2}; "
                          f"both parts need at least 1 channel (allowed range [{1 / c:.3g}, {1 - 1 / c:.3g}])")
    if new2 == old2:
        return text if isinstance(text, str) else bytes(text).decode("utf-8")
    path = list(roles["block"]) + list(roles["partial_transition"])
    if any(layers[j].kind == "conv" and layers[j].attrs.get("groups", 1) != 1 for j in path):
        raise ConfigError("network", f"{stage}: grouped convs on the block path: the split ratio is not rewritten")
    filters = {} if sliced else {p1: c - new2, roles["part2"][0]: new2}
    for j in path:
        if layers[j].kind == "conv":
            f = layers[j].out_shape[0]
            filters[j] = new2 if f == old2 else max(1, round(f * new2 / old2))
    sections = read_sections(text)
    head = [f"# rewritten by CSPNet Explorer: {stage} split ratio {old2 / c:g} -> {new2 / c:g}", "",
            _section_text(sections[0])]
    if sliced:
        body = _resliced(net, info, stage, c - new2, new2, sections[1:], filters)
    else:
        body = []
        for i, sec in enumerate(sections[1:]):
            opts = dict(sec.options)
            if i in filters:
                opts["filters"] = (str(filters[i]), 0)
            body.append(_section_text(Section(sec.name, sec.line, opts)))
    new_text = "\n".join(head + body) + "\n"
    try:
        again = parse_cfg(new_text)
    except ConfigError as exc:   # e.g. a later split's [route] groups no longer divide a changed width
        raise ConfigError("network", f"{stage}: at split ratio {new2 / c:g} the rewritten cfg does not read "
                          f"({exc.detail}); this split is not rewritten") from None
    got = next((s for s in again.stages if s.name == stage), None)
    if got is None or got.fusion != info.fusion or got.roles["sliced"] != sliced \
            or again.plan.stage(stage).taps["part2"][0] != new2:
        raise ConfigError("network", f"{stage}: the rewritten stage is no longer the same CSP pattern; "
                          "this split is not rewritten")
    return new_text


def _resliced(net, info, stage: str, new1: int, new2: int, sections: list, filters: dict) -> list:
    """The layer sections with a sliced split's part 1 and part 2 routes (``[route] groups`` chunks of
    layer x and their concats) replaced by those of the new widths (``explorer.io.darknet_export``'s
    :func:`~explorer.io.darknet_export.slice_chunks`), ``filters`` set, and every layer reference
    renumbered (relative where the file wrote it relative)."""
    from .darknet import MAX_LAYERS, MAX_ROUTE_INPUTS
    from .darknet_export import slice_chunks

    roles, layers = info.roles, net.layers
    r = roles["split"][0]
    x = layers[r].inputs[0]
    p1s = roles["part1_slice"][0]
    q = roles["part2"][0] if roles["part2"] else r
    replaced = {x + 1: range(x + 1, p1s + 1), r: range(r, q + 1)}     # first old layer -> the old part's layers
    dropped = {j for part in replaced.values() for j in part}
    c = new1 + new2
    parts = {x + 1: slice_chunks(c, 0, new1), r: slice_chunks(c, new1, c)}
    for k, chunks in enumerate(parts.values(), 1):
        if len(chunks) > MAX_ROUTE_INPUTS:
            raise ConfigError("part2_share", f"{stage}: {new1} + {new2} of {c} channels: part {k} needs "
                              f"{len(chunks)} [route] groups slices, more than the {MAX_ROUTE_INPUTS} inputs one "
                              "[route] may concatenate")
    for i, layer in enumerate(layers):    # only the part's last layer (its slice) may be read from elsewhere
        if i not in dropped and any(j in dropped and j not in (p1s, q) for j in layer.inputs):
            raise ConfigError("network", f"{stage}: layer {i} reads a slice route of the split; "
                              "this split is not rewritten")
    items: list = []      # (Section, old index or None, refs of a new route: ("old", j) or ("new", item))
    stands_for: dict = {}      # old part slice -> the item that now gives it
    for i, sec in enumerate(sections):
        if i in parts:
            first = len(items)
            for g, k in parts[i]:
                items.append((Section("route", 0, {"groups": (str(g), 0), "group_id": (str(k), 0)}), None,
                              [("old", x)]))
            if len(parts[i]) > 1:
                items.append((Section("route", 0, {}), None, [("new", n) for n in range(first, len(items))]))
            stands_for[p1s if i == x + 1 else q] = len(items) - 1
        if i not in dropped:
            items.append((sec, i, None))
    if len(items) > MAX_LAYERS:
        raise ConfigError("part2_share", f"{stage}: the rewritten cfg would have {len(items)} layers; at most "
                          f"{MAX_LAYERS}")
    pos = {old: p for p, (_, old, _) in enumerate(items) if old is not None}

    def where(j: int) -> int:
        return stands_for[j] if j in stands_for else pos.get(j, j)     # (-1: the network's input)

    out = []
    for p, (sec, old, refs) in enumerate(items):
        opts = dict(sec.options)
        if old is None:
            targets = [where(j) if kind == "old" else j for kind, j in refs]
            opts = {"layers": (",".join(str(t - p) for t in targets), 0), **opts}
        else:
            layer = layers[old]
            if old in filters:
                opts["filters"] = (str(filters[old]), 0)
            if layer.kind == "route":
                tokens = opts["layers"][0].split(",")
                vals = [where(j) for j in layer.inputs]
                opts["layers"] = (",".join(str(t - p) if tok.strip().startswith("-") else str(t)
                                           for tok, t in zip(tokens, vals)), 0)
            elif layer.kind in ("shortcut", "scale_channels"):
                t = where(layer.inputs[1])
                opts["from"] = (str(t - p) if opts["from"][0].strip().startswith("-") else str(t), 0)
        out.append(_section_text(Section(sec.name, sec.line, opts)))
    return out


def stage_split(net, stage: str) -> float | None:
    """A recognised CSP stage's part 2 share (part 2's channels / part 1's plus part 2's) where
    :func:`rewrite_split` can change it, else None."""
    info = next((s for s in net.stages if s.name == stage), None)
    if info is None or info.fusion == "none":
        return None
    roles = info.roles
    if not roles["sliced"] and (not roles["part2"] or not roles["part1"]
                                or net.layers[roles["part1"][-1]].kind != "conv"):
        return None
    taps = net.plan.stage(stage).taps
    a, b = taps["part1"][0], taps["part2"][0]
    return b / (a + b)


def _section_text(sec: Section) -> str:
    return "\n".join([f"[{sec.name}]"] + [f"{k}={v}" for k, (v, _) in sec.options.items()]) + "\n"


__all__ = ["FUSIONS", "csp_stages", "network_fusion", "plain_twin", "rewrite_fusion", "rewrite_plain", "rewrite_split",
           "stage_split"]
