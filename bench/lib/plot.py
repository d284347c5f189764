"""plot: the hand-written SVG charts the benchmark reports share (standard library only).

bar_svg: grouped horizontal bars with value labels (optionally log scale);
line_svg: series over an x axis (e.g. pods/s per one-second window).
"""
import math


def _esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def bar_svg(path, title, labels, series, unit, log=False, marks=None):
    """series: [(name, color, [values])]; marks: optional [(name, color, [values])] drawn as
    vertical ticks on each row (goals, baselines)."""
    W, left, row, pad = 960, 300, 18, 40
    marks = marks or []
    legend = len(series) + len(marks)
    H = pad * 2 + row * len(labels) * len(series) + 10 * len(labels) + 16 * legend
    allv = [v for _, _, vals in series + marks for v in vals if v]
    vmax = max(allv + [1])
    vmin = min(allv + [1])

    def scale(v):
        if not v:
            return 0
        if log:
            lo = math.log10(max(vmin / 2, 1e-9))
            return (math.log10(v) - lo) / (math.log10(vmax) - lo) * (W - left - 140)
        return v / vmax * (W - left - 140)

    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="12">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="20" font-size="14" font-weight="bold">%s</text>' % _esc(title)]
    y = pad
    for i, lab in enumerate(labels):
        top = y
        s.append('<text x="%d" y="%d" text-anchor="end">%s</text>' %
                 (left - 8, y + row * len(series) / 2 + 4, _esc(lab)))
        for _, color, vals in series:
            v = vals[i]
            s.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' %
                     (left, y, scale(v), row - 3, color))
            if v:
                txt = "{:,}".format(round(v)) if v >= 10 else "%.2f" % v
                s.append('<text x="%.1f" y="%d">%s %s</text>' % (left + scale(v) + 4, y + row - 6,
                                                                 txt, _esc(unit)))
            y += row
        for _, color, vals in marks:
            v = vals[i]
            if v:
                x = left + scale(v)
                s.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2" '
                         'stroke-dasharray="4,2"/>' % (x, top - 2, x, y - 1, color))
        y += 10
    for j, (sname, color, _) in enumerate(series + marks):
        s.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>'
                 % (left, y + 4 + j * 16, color, left + 16, y + 14 + j * 16, _esc(sname)))
    s.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(s))


def line_svg(path, title, series, xlabel, ylabel):
    """series: [(name, color, [(x, y)])]."""
    W, H, l, r, t, b = 960, 420, 70, 220, 40, 50
    pts = [p for _, _, ps in series for p in ps]
    xmax = max([p[0] for p in pts] + [1])
    ymax = max([p[1] for p in pts] + [1])

    def X(x):
        return l + x / xmax * (W - l - r)

    def Y(y):
        return H - b - y / ymax * (H - t - b)

    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="12">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="20" font-size="14" font-weight="bold">%s</text>' % _esc(title),
         '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (l, H - b, W - r, H - b),
         '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (l, t, l, H - b),
         '<text x="%d" y="%d" text-anchor="middle">%s</text>' % ((l + W - r) / 2, H - 12, _esc(xlabel)),
         '<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>' %
         ((t + H - b) / 2, (t + H - b) / 2, _esc(ylabel))]
    for k in range(5):
        yv = ymax * k / 4
        s.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (l - 4, Y(yv) + 4, "{:,}".format(round(yv))))
        xv = xmax * k / 4
        s.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (X(xv), H - b + 16, "%g" % round(xv, 1)))
    for j, (name, color, ps) in enumerate(series):
        if ps:
            s.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' %
                     (color, " ".join("%.1f,%.1f" % (X(x), Y(y)) for x, y in ps)))
        s.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>'
                 % (W - r + 10, t + j * 16, color, W - r + 26, t + 10 + j * 16, _esc(name)))
    s.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(s))


def whisker_panels_svg(path, title, groups, panels, note=""):
    """Side-by-side panels of vertical bars, one bar per group (median, with a min-max whisker)
    and optional horizontal reference lines. groups: [(name, color)]; panels: [(title, unit,
    [{"median", "min", "max"} or None per group], [(label, value, color)])]."""
    pw, ph, gap, top, left = 210, 240, 40, 50, 60
    W = left + len(panels) * (pw + gap) + 20
    H = top + ph + 60 + 16 * len(groups) + (20 if note else 0)
    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="11">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="20" font-size="14" font-weight="bold">%s</text>' % _esc(title)]
    for p, (ptitle, unit, stats, refs) in enumerate(panels):
        x0 = left + p * (pw + gap)
        vals = [v for st in stats if st for v in (st["max"], st["median"])] + [v for _, v, _ in refs]
        vmax = max(vals + [1e-9]) * 1.15

        def Y(v):
            return top + ph - v / vmax * ph

        s.append('<text x="%.1f" y="%d" text-anchor="middle" font-weight="bold">%s</text>'
                 % (x0 + pw / 2, top - 12, _esc(ptitle)))
        s.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (x0, top, x0, top + ph))
        s.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'
                 % (x0, top + ph, x0 + pw, top + ph))
        for k in range(5):
            v = vmax * k / 4
            lab = "{:,}".format(round(v)) if vmax >= 20 else "%.3g" % v
            s.append('<text x="%d" y="%.1f" text-anchor="end" font-size="9">%s</text>'
                     % (x0 - 3, Y(v) + 3, lab))
        s.append('<text x="%d" y="%d" font-size="9" fill="#555">%s</text>' % (x0 + 3, top + 10, _esc(unit)))
        bw = pw / max(len(groups), 1)
        for g, ((_, color), st) in enumerate(zip(groups, stats)):
            if not st:
                continue
            bx = x0 + g * bw + bw * 0.2
            w = bw * 0.6
            s.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>'
                     % (bx, Y(st["median"]), w, top + ph - Y(st["median"]), color))
            cx = bx + w / 2
            s.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>'
                     % (cx, Y(st["min"]), cx, Y(st["max"])))
            txt = "{:,}".format(round(st["median"])) if st["median"] >= 20 else "%.3g" % st["median"]
            s.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="9">%s</text>'
                     % (cx, Y(st["max"]) - 4, txt))
        for label, v, color in refs:
            s.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-dasharray="5,3"/>'
                     % (x0, Y(v), x0 + pw, Y(v), color))
            s.append('<text x="%d" y="%.1f" font-size="9" fill="%s">%s</text>'
                     % (x0 + 4, Y(v) - 3, color, _esc(label)))
    y = top + ph + 24
    for j, (name, color) in enumerate(groups):
        s.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>'
                 % (left, y + j * 16, color, left + 16, y + 10 + j * 16, _esc(name)))
    if note:
        s.append('<text x="%d" y="%d" fill="#555">%s</text>' % (left, y + 16 * len(groups) + 12, _esc(note)))
    s.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(s))
