package org.sparkmim.model.nn;

/**
 * The orthonormal 2-D DFT of a real H×W plane as two small matmuls with fixed cosine and sine matrices, and its
 * adjoint. ND4J has no FFT op; on the image sizes this trains on (28–64 px) two O(H·W·(H+W)) products are cheap,
 * and A2MIM needs the transform once per batch (its frequency loss compares batch-averaged spectra).
 *
 * <pre>
 * A[u, h] = e^{−2πi·uh/H} / √H,   Bm[v, w] = e^{−2πi·vw/W} / √W      (symmetric, unitary: torch.fft.fft2 norm="ortho")
 * forward:  F = A · X · Bmᵀ                                 X [H, W] real → F [H, W] complex (re, im)
 * adjoint:  Re(Aᴴ · Z · conj(Bm))                           Z [H, W] complex → [H, W] real
 * </pre>
 * The adjoint is what backward needs: for L = Σ w·|F|², dL/dX = 2·Re(Aᴴ (w⊙F) conj(Bm)).
 */
public final class Dft2 {
    private final int h, w;
    private final double[] ch, sh, cw, sw;     // [H, H], [H, H], [W, W], [W, W] row-major, already / √size

    public Dft2(int h, int w) {
        this.h = h;
        this.w = w;
        ch = new double[h * h];
        sh = new double[h * h];
        cw = new double[w * w];
        sw = new double[w * w];
        fill(h, ch, sh);
        fill(w, cw, sw);
    }

    private static void fill(int n, double[] c, double[] s) {
        double norm = 1.0 / Math.sqrt(n);
        for (int u = 0; u < n; u++) {
            for (int x = 0; x < n; x++) {
                double a = 2 * Math.PI * ((long) u * x % n) / n;                  // reduced angle: exact periodicity
                c[u * n + x] = Math.cos(a) * norm;
                s[u * n + x] = Math.sin(a) * norm;
            }
        }
    }

    /** F = A X Bmᵀ for one real plane x [H, W] at off (element stride `stride`) → re, im [H, W]. */
    public void forward(double[] x, int off, int stride, double[] re, double[] im) {
        // T = A X: T_re = C_h X, T_im = −S_h X     [H, W]
        double[] tr = new double[h * w], ti = new double[h * w];
        for (int u = 0; u < h; u++) {
            for (int y = 0; y < h; y++) {
                double c = ch[u * h + y], s = sh[u * h + y];
                int src = off + y * w * stride;
                for (int v = 0; v < w; v++) {
                    double xv = x[src + v * stride];
                    tr[u * w + v] += c * xv;
                    ti[u * w + v] -= s * xv;
                }
            }
        }
        // F = T Bmᵀ with Bm = C_w − i S_w: F_re = T_re C_w + T_im S_w, F_im = T_im C_w − T_re S_w
        for (int u = 0; u < h; u++) {
            for (int v = 0; v < w; v++) {
                double r = 0, i = 0;
                for (int k = 0; k < w; k++) {
                    double c = cw[v * w + k], s = sw[v * w + k], a = tr[u * w + k], b = ti[u * w + k];
                    r += a * c + b * s;
                    i += b * c - a * s;
                }
                re[u * w + v] = r;
                im[u * w + v] = i;
            }
        }
    }

    /** out [H, W] (at off, element stride `stride`) = Re(Aᴴ Z conj(Bm)) for Z = zr + i·zi [H, W]. */
    public void adjoint(double[] zr, double[] zi, double[] out, int off, int stride) {
        // U = Aᴴ Z = (C_h + i S_h) Z: U_re = C_h Z_re − S_h Z_im, U_im = S_h Z_re + C_h Z_im    (C_h, S_h symmetric)
        double[] ur = new double[h * w], ui = new double[h * w];
        for (int y = 0; y < h; y++) {
            for (int u = 0; u < h; u++) {
                double c = ch[u * h + y], s = sh[u * h + y];
                for (int v = 0; v < w; v++) {
                    double a = zr[u * w + v], b = zi[u * w + v];
                    ur[y * w + v] += c * a - s * b;
                    ui[y * w + v] += s * a + c * b;
                }
            }
        }
        // Re(U conj(Bm)) = U_re C_w − U_im S_w
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double r = 0;
                for (int v = 0; v < w; v++) r += ur[y * w + v] * cw[v * w + x] - ui[y * w + v] * sw[v * w + x];
                out[off + (y * w + x) * stride] = r;
            }
        }
    }
}
