"""The shape of the procedural demo head: a lofted skull plus sculpted facial features.

All numbers are metres in Blender's convention (z up, face toward -Y, +X = subject's left).
The skull is lofted through three profile curves (front, back and side silhouettes) with
superellipse cross-sections; the face is then sculpted as forward displacements of the
front (eye sockets, brow ridge, nose, cheekbones, lips, chin) and the eyelids are wrapped
over the eyeballs. Proportions follow average adult anthropometry (head length ~20 cm,
breadth ~15 cm, crown-to-chin ~22.5 cm, inter-pupil distance ~64 mm).
"""

from __future__ import annotations

import numpy as np

# Control points, crown (row 0) to neck (last row):
# front depth, front z, back depth, back z, side half-width, side z.
PROFILE = np.array(
    [
        [0.000, 0.128, 0.000, 0.128, 0.000, 0.128],
        [0.040, 0.122, 0.045, 0.121, 0.040, 0.122],
        [0.068, 0.106, 0.080, 0.104, 0.062, 0.106],
        [0.083, 0.084, 0.098, 0.080, 0.072, 0.082],
        [0.089, 0.060, 0.106, 0.050, 0.076, 0.055],
        [0.090, 0.038, 0.108, 0.020, 0.077, 0.028],
        [0.089, 0.015, 0.104, -0.010, 0.075, 0.002],
        [0.090, -0.010, 0.096, -0.035, 0.071, -0.022],
        [0.091, -0.035, 0.085, -0.058, 0.066, -0.045],
        [0.089, -0.058, 0.072, -0.078, 0.060, -0.065],
        [0.088, -0.080, 0.062, -0.095, 0.054, -0.083],
        [0.077, -0.097, 0.058, -0.110, 0.050, -0.098],
        [0.055, -0.106, 0.057, -0.125, 0.049, -0.112],
        [0.046, -0.120, 0.057, -0.145, 0.050, -0.130],
        [0.047, -0.150, 0.058, -0.170, 0.051, -0.155],
        [0.049, -0.185, 0.060, -0.195, 0.053, -0.190],
    ]
)

EYE_X = 0.032  # half the inter-pupil distance
EYE_Z = 0.030
EYE_RADIUS = 0.0118
EYE_SLIT = 0.0095  # the eye slit's columns lie this close to the pupil (corners within the eyeball)
MOUTH_Z = -0.040
MOUTH_HALF_WIDTH = 0.025
NOSE_TIP_Z = 0.0
EAR_ROOT = (-0.010, 0.046, 0.006)  # the ears' root: bottom z, top z, front y
UPPER_LIP = 0.0078  # vermilion heights at the centre
LOWER_LIP = 0.0095
LIP_REST = 0.009  # row spacing the warp returns to beyond the corners
UPPER_LIP_ROWS = 4  # grid rows inside each vermilion
LOWER_LIP_ROWS = 4


def catmull_rom(points: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Uniform Catmull-Rom spline through ``points`` (N, D) at parameters ``t`` in [0, 1]."""
    n = len(points)
    p = np.concatenate([2 * points[:1] - points[1:2], points, 2 * points[-1:] - points[-2:-1]])
    u = np.clip(t, 0.0, 1.0) * (n - 1)
    k = np.minimum(u.astype(int), n - 2)
    f = (u - k)[:, None]
    p0, p1, p2, p3 = p[k], p[k + 1], p[k + 2], p[k + 3]
    return 0.5 * (
        2 * p1 + (p2 - p0) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f**2
        + (3 * p1 - p0 - 3 * p2 + p3) * f**3
    )


def row_parameters(num_rows: int) -> np.ndarray:
    """Profile parameters of the rows: denser over the face, sparser on the crown and neck."""
    fine = np.linspace(0.0, 1.0, 2001)
    prof = catmull_rom(PROFILE, fine)
    step = np.linalg.norm(np.diff(prof[:, :2], axis=0), axis=1)
    z = prof[1:, 1]
    density = (1.0 + 1.6 * np.exp(-(((z + 0.025) / 0.06) ** 4))
               + 1.4 * np.exp(-(((z - MOUTH_Z + 0.002) / 0.014) ** 2)))
    arc = np.concatenate([[0.0], np.cumsum(step * density)])
    return np.interp(np.linspace(0.0, arc[-1], num_rows), arc, fine)


def column_angles(num_cols: int) -> np.ndarray:
    """Azimuths (0 = front, +pi/2 = subject's left), denser toward the face."""
    s = -1.0 + 2.0 * np.arange(num_cols) / num_cols
    return np.pi * (s - 0.62 * np.sin(np.pi * s) / np.pi)


def skull_points(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Lofted skull surface at row parameters ``t`` (R,) and azimuths ``theta`` (C,)."""
    prof = catmull_rom(PROFILE, t)  # (R, 6)
    d_f, z_f, d_b, z_b, x_s, z_s = (prof[:, i : i + 1] for i in range(6))
    s, c = np.sin(theta)[None, :], np.cos(theta)[None, :]
    n = np.where(c > 0, 2.6, 2.2)
    x = x_s * np.sign(s) * np.abs(s) ** (2.0 / n)
    depth = np.where(c > 0, d_f, d_b) * np.abs(c) ** (2.0 / n)
    y = np.where(c > 0, -depth, depth)
    wf, wb, ws = np.maximum(c, 0) ** 2, np.maximum(-c, 0) ** 2, s**2
    z = z_f * wf + z_b * wb + z_s * ws
    return np.stack([x, y, z], axis=-1)


def _g(x, z, cx, cz, sx, sz):
    return np.exp(-(((x - cx) / sx) ** 2) - ((z - cz) / sz) ** 2)


def lip_heights(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heights (metres) of the upper and lower vermilion above/below the lip seam at ``x``.

    Full at the centre (with a Cupid's bow on the upper lip), tapering to a rounded corner at
    the mouth's half-width, back to :data:`LIP_REST` beyond (where the rows are not warped).
    """
    ax = np.abs(np.asarray(x, dtype=np.float64))
    r = np.clip(ax / MOUTH_HALF_WIDTH, 0.0, 1.0)
    taper = (1.0 - r**2) ** 0.8
    bow = 1.0 + 0.10 * np.exp(-(((ax - 0.0055) / 0.004) ** 2)) - 0.06 * np.exp(-((ax / 0.0025) ** 2))
    up = UPPER_LIP * np.maximum(taper * bow, 0.06)
    lo = LOWER_LIP * np.maximum(taper, 0.06)
    back = smooth01((ax - MOUTH_HALF_WIDTH) / 0.012)
    return up + (LIP_REST - up) * back, lo + (LIP_REST - lo) * back


def smooth01(u: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``u <= 0`` to 1 at ``u >= 1``."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def face_relief(x: np.ndarray, z: np.ndarray, seam_z: np.ndarray) -> np.ndarray:
    """Forward displacement (metres) of the face at front coordinates ``x, z``.

    ``seam_z`` is the height of the lip seam at each ``x``; the lips are shaped in units of
    their own height (:func:`lip_heights`), so their outline follows the warped grid rows and
    both copies of a seam vertex get the same displacement.
    """
    ax = np.abs(x)
    d = np.zeros_like(x)
    d -= 0.0122 * _g(ax, z, EYE_X, EYE_Z + 0.002, 0.020, 0.015)  # eye sockets
    d += 0.005 * np.exp(-(((z - EYE_Z - 0.021) / 0.007) ** 2) - (x / 0.05) ** 4)  # brow ridge
    d -= 0.004 * _g(x, z, 0.0, EYE_Z + 0.006, 0.010, 0.010)  # nasion
    # nose: bridge from the nasion to the tip, then the underside back to the lip
    top, tip = EYE_Z + 0.004, NOSE_TIP_Z
    u = (top - z) / (top - tip)
    ridge = np.where(u <= 1.0, 0.004 + 0.017 * np.clip(u, 0, 1) ** 1.4, 0.0)
    under = 0.021 * (1.0 - np.clip((tip - z) / 0.015, 0.0, 1.0)) ** 1.5
    profile = np.where(u <= 1.0, ridge, under) + 0.003 * np.exp(-(((u - 0.95) / 0.13) ** 2))
    width = 0.0060 + 0.0045 * np.clip(u, 0.0, 1.1)
    d += profile * np.exp(-((x / width) ** 2)) * (u > -0.2)
    d += 0.009 * _g(ax, z, 0.0125, tip - 0.006, 0.0065, 0.0055)  # alae
    d += 0.007 * _g(ax, z, 0.046, EYE_Z - 0.024, 0.018, 0.014)  # cheekbones
    d += 0.004 * _g(ax, z, 0.030, MOUTH_Z + 0.012, 0.012, 0.018)  # nasolabial fullness
    d += 0.009 * _g(x, z, 0.0, MOUTH_Z - 0.002, 0.030, 0.030)  # dental arch
    d += _lips(x, z - seam_z)
    d -= 0.0012 * _g(x, z - seam_z, 0.0, 0.013, 0.0035, 0.006)  # philtrum
    d -= 0.0028 * _g(x, z, 0.0, MOUTH_Z - 0.020, 0.018, 0.005)  # mentolabial sulcus
    d += 0.007 * _g(x, z, 0.0, MOUTH_Z - 0.038, 0.017, 0.012)  # chin
    return d


def _lips(x: np.ndarray, dz: np.ndarray) -> np.ndarray:
    """The lips' forward relief around the seam, in units of each lip's height ``v``: the same
    at the seam for both lips, a rounded bulge across each vermilion that recedes past its
    border into the skin, slightly tucked-in corners."""
    up_h, lo_h = lip_heights(x)
    upper = dz >= 0
    v = np.where(upper, dz / up_h, -dz / lo_h)
    centre, width = np.where(upper, 0.42, 0.45), np.where(upper, 0.55, 0.60)
    amp = np.where(upper, 0.0024, 0.0029)

    def bulge(u):
        return np.exp(-(((u - centre) / width) ** 2))

    env = np.clip(1.0 - (x / (MOUTH_HALF_WIDTH + 0.0008)) ** 2, 0.0, 1.0) ** 0.75
    lip = 0.0022 + amp * (bulge(v) - bulge(0.0))
    lip *= 1.0 - smooth01((v - 1.0) / 1.3)
    corner = 0.0005 * np.exp(-(((np.abs(x) - MOUTH_HALF_WIDTH - 0.0015) / 0.0035) ** 2)
                             - (dz / 0.0035) ** 2)
    return env * lip - corner
