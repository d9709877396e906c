"""Closed loose parts of the demo head: eyeballs, the two dental arches and the tongue.

Each builder returns ``(points (N, 3), faces, material names)`` with faces indexing
``points`` from 0 (the head adds its own offset). Every part is a closed surface with its
faces oriented outward. Metres, Blender's axes (z up, face toward -Y).
"""

from __future__ import annotations

import numpy as np

Part = tuple[np.ndarray, list[tuple[int, ...]], list[str]]


def _tube(rings: np.ndarray, materials: list[list[str]], closed_ring: bool = True) -> Part:
    """Faces between consecutive rings ``(R, N, 3)`` (``materials[r][k]`` for the face between
    ring r and r+1 at segment k), with both ends closed by a fan to the ring's centre."""
    n_rings, n = rings.shape[:2]
    pts = list(rings.reshape(-1, 3))
    faces, mats = [], []
    segs = n if closed_ring else n - 1
    for r in range(n_rings - 1):
        for k in range(segs):
            k1 = (k + 1) % n
            faces.append((r * n + k, r * n + k1, (r + 1) * n + k1, (r + 1) * n + k))
            mats.append(materials[r][k])
    for end, ring in ((0, 0), (1, n_rings - 1)):
        centre = len(pts)
        pts.append(rings[ring].mean(axis=0))
        for k in range(segs):
            a, b = ring * n + k, ring * n + (k + 1) % n
            faces.append((centre, b, a) if end == 0 else (centre, a, b))
            mats.append(materials[min(ring, n_rings - 2)][k])
    return np.asarray(pts), faces, mats


def eyeball(c: np.ndarray, r: float) -> Part:
    """A UV sphere whose pole looks forward: pupil (the cap within 9 degrees), iris (to 30
    degrees) and white as separate materials."""
    rings = np.radians([9, 18, 30, 45, 62, 80, 100, 125, 150])
    segs = 16
    b = 2 * np.pi * np.arange(segs) / segs
    pts = [c + [0.0, -r, 0.0]]
    for a in rings:
        pts += [c + r * np.array([np.sin(a) * np.cos(x), -np.cos(a), np.sin(a) * np.sin(x)])
                for x in b]
    pts.append(c + [0.0, r, 0.0])
    faces, mats = [], []
    for k in range(segs):
        faces.append((0, 1 + (k + 1) % segs, 1 + k))
        mats.append("pupil")
    for ri in range(len(rings) - 1):
        base = 1 + ri * segs
        for k in range(segs):
            k1 = (k + 1) % segs
            faces.append((base + k, base + k1, base + segs + k1, base + segs + k))
            mats.append("iris" if ri <= 1 else "eye_white")  # pupil 3 mm, iris 12 mm across
    last, tip = 1 + (len(rings) - 1) * segs, len(pts) - 1
    for k in range(segs):
        faces.append((last + k, last + (k + 1) % segs, tip))
        mats.append("eye_white")
    return outward(np.array(pts), faces, mats)


def arch_curve(front_y: float, count: int, half_width: float = 0.0235,
               depth: float = 0.030, sweep: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(count, 2)`` (x, y) along the dental arch (right back to left back) and the
    outward unit normals there."""
    phi = np.linspace(-sweep, sweep, count)
    x = half_width * np.sin(phi) / np.sin(sweep)
    y = front_y + depth * (1 - np.cos(phi)) / (1 - np.cos(sweep))
    tangent = np.stack([np.gradient(x), np.gradient(y)], axis=1)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)  # toward the lips (-y)
    return np.stack([x, y], axis=1), normal


def teeth(front_y: float, seam_z: float, upper: bool, count: int = 29) -> Part:
    """One dental arch: a band of teeth (scalloped biting edge, one bump per tooth) rooted in
    a strip of gum, following :func:`arch_curve`."""
    sign = 1.0 if upper else -1.0
    centre, normal = arch_curve(front_y + (0.0 if upper else 0.0012), count,
                                half_width=0.0235 if upper else 0.0215)
    u = np.linspace(-1.0, 1.0, count)
    # teeth: ~7 per side; the biting edge dips between them
    tooth = 0.5 + 0.5 * np.cos(np.pi * u * 7.0)
    edge_z = seam_z - sign * (0.0012 - 0.0006 * (1 - tooth)) + sign * 0.0015 * u**2
    height = (0.0078 if upper else 0.0070) * (1 - 0.35 * u**2)
    gum_z = edge_z + sign * height
    top_z = gum_z + sign * 0.0022
    thick = 0.0050 + 0.0045 * u**2  # incisors thin, molars wide
    tilt = -0.0028 * (1 - u**2)  # the front teeth lean back toward their roots
    # cross-section from the lip side over the biting edge to the tongue side:
    # (offset along the outward normal, height), each per tooth position
    section = [(tilt, top_z), (0.0004 + 0.85 * tilt, gum_z),
               (0.35 * tilt, edge_z + sign * 0.35 * height), (-0.0008, edge_z),
               (-0.5 * thick, edge_z - sign * 0.0004), (-thick, edge_z),
               (-thick - 0.0004 + 0.85 * tilt, gum_z), (-thick + tilt, top_z)]
    kinds = ["gums", "teeth", "teeth", "teeth", "teeth", "teeth", "gums", "gums"]
    rings = np.empty((count, len(section), 3))
    for m, (off, z) in enumerate(section):
        off = np.broadcast_to(off, (count,))
        rings[:, m, 0] = centre[:, 0] + normal[:, 0] * off
        rings[:, m, 1] = centre[:, 1] + normal[:, 1] * off
        rings[:, m, 2] = z
    return outward(*_tube(rings, [kinds] * (count - 1)))


def tongue(front_y: float, seam_z: float, segs: int = 14, rings: int = 9) -> Part:
    """A flattened, front-pointed ellipsoid on the floor of the mouth behind the lower teeth."""
    centre = np.array([0.0, front_y + 0.034, seam_z - 0.0085])
    radii = np.array([0.0165, 0.022, 0.0062])
    lat = np.linspace(0.0, np.pi, rings + 2)[1:-1]  # from the top to the bottom
    lon = 2 * np.pi * np.arange(segs) / segs
    pts = []
    for a in lat:
        for b in lon:
            p = np.array([np.sin(a) * np.cos(b), np.sin(a) * np.sin(b), np.cos(a)])
            if p[1] < 0:  # the front half is pointed and lower
                p[1] *= 1.15
                p[2] -= 0.25 * p[1] ** 2
            pts.append(centre + radii * p)
    pts = np.asarray(pts).reshape(rings, segs, 3)
    top = np.array([0.0, centre[1], centre[2] + radii[2]])
    bottom = np.array([0.0, centre[1], centre[2] - radii[2]])
    out = list(pts.reshape(-1, 3)) + [top, bottom]
    faces, mats = [], []
    t_idx, b_idx = len(out) - 2, len(out) - 1
    for k in range(segs):
        k1 = (k + 1) % segs
        faces.append((t_idx, k, k1))
        for r in range(rings - 1):
            faces.append((r * segs + k, (r + 1) * segs + k, (r + 1) * segs + k1, r * segs + k1))
        last = (rings - 1) * segs
        faces.append((b_idx, last + k1, last + k))
        mats += ["tongue"] * (rings + 1)
    return outward(np.asarray(out), faces, mats)


def outward(pts: np.ndarray, faces: list[tuple[int, ...]], mats: list[str]) -> Part:
    """The part with its faces turned outward (positive enclosed volume)."""
    vol = 0.0
    for f in faces:
        for k in range(1, len(f) - 1):
            vol += np.dot(pts[f[0]], np.cross(pts[f[k]], pts[f[k + 1]]))
    if vol < 0:
        faces = [tuple(reversed(f)) for f in faces]
    return pts, faces, mats
