// The Pixi side of the grid: one Application (one canvas) drawing one sprite per disk. Each
// disk's texture comes from its CellPainter's RGBA buffer through a small 2D canvas
// (putImageData of the dirty rows only, then CanvasSource.update()): unlike BufferImageSource
// this works with both of Pixi's renderers, and the 2D canvas renderer is the fast one where
// WebGL is software-emulated (SwiftShader: ~10 fps under load against 60).
// Where a disk is drawn comes from the DOM: each disk panel has a "slot" element, and the
// sprite is placed over it with crisp integer scaling (plus the user's zoom and pan).

import 'pixi.js/unsafe-eval';
import { Application, CanvasSource, Graphics, Sprite, Texture } from 'pixi.js';
import type { CellPainter } from './cell-painter.ts';

interface View {
  zoom: number;
  panX: number;
  panY: number;
}

interface DiskSprite {
  painter: CellPainter;
  source: CanvasSource;
  ctx: CanvasRenderingContext2D;
  image: ImageData;
  sprite: Sprite;
  mask: Graphics;
  slot: HTMLElement | null;
  view: View;
  uploaded: number;
}

export class BlockGrid {
  readonly app = new Application();
  private disks = new Map<number, DiskSprite>();
  private host: HTMLElement | null = null;
  private ready = false;
  /** Number of frames that uploaded at least one texture. */
  uploads = 0;

  /** Which Pixi renderer draws: WebGL on real GPUs, the 2D canvas where WebGL is software. */
  static preferredRenderer(): 'webgl' | 'canvas' {
    const forced = new URLSearchParams(location.search).get('renderer');
    if (forced === 'webgl' || forced === 'canvas') return forced;
    try {
      const gl =
        document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
      if (!gl) return 'canvas';
      const info = gl.getExtension('WEBGL_debug_renderer_info');
      const name = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
      gl.getExtension('WEBGL_lose_context')?.loseContext();
      return /swiftshader|llvmpipe|software/i.test(name) ? 'canvas' : 'webgl';
    } catch {
      return 'canvas';
    }
  }

  renderer: 'webgl' | 'canvas' = 'webgl';

  async init(host: HTMLElement, background: string): Promise<void> {
    this.host = host;
    this.renderer = BlockGrid.preferredRenderer();
    await this.app.init({
      resizeTo: host,
      preference: this.renderer,
      antialias: false,
      background,
      // Lets tests (and screenshots) read back the real canvas pixels.
      preserveDrawingBuffer: true,
      autoStart: false,
      // Transparent: the disk panels (DOM) show through around the grids.
      backgroundAlpha: 0,
    });
    this.app.canvas.style.imageRendering = 'pixelated';
    host.appendChild(this.app.canvas);
    this.ready = true;
    // Disks announced before the renderer was ready.
    for (const d of this.disks.values()) this.app.stage.addChild(d.mask, d.sprite);
  }

  setBackground(color: string): void {
    if (this.ready) this.app.renderer.background.color = color;
  }

  setDisk(n: number, painter: CellPainter): void {
    this.removeDisk(n);
    const g = painter.geometry;
    const canvas = document.createElement('canvas');
    canvas.width = g.width;
    canvas.height = g.height;
    const ctx = canvas.getContext('2d')!;
    // Shares memory with the painter's buffer: no copy before putImageData.
    const image = new ImageData(new Uint8ClampedArray(painter.rgba.buffer as ArrayBuffer), g.width, g.height);
    ctx.putImageData(image, 0, 0);
    const source = new CanvasSource({ resource: canvas, scaleMode: 'nearest', autoGenerateMipmaps: false });
    const sprite = new Sprite(new Texture({ source }));
    const mask = new Graphics();
    sprite.mask = mask;
    if (this.ready) this.app.stage.addChild(mask, sprite);
    this.disks.set(n, {
      painter,
      source,
      ctx,
      image,
      sprite,
      mask,
      slot: null,
      view: { zoom: 1, panX: 0, panY: 0 },
      uploaded: -1,
    });
  }

  removeDisk(n: number): void {
    const d = this.disks.get(n);
    if (!d) return;
    d.sprite.destroy({ texture: true, textureSource: true });
    d.mask.destroy();
    this.disks.delete(n);
  }

  setSlot(n: number, el: HTMLElement | null): void {
    const d = this.disks.get(n);
    if (d) d.slot = el;
  }

  painter(n: number): CellPainter | undefined {
    return this.disks.get(n)?.painter;
  }

  /** Base integer scale for a slot: the biggest whole number that fits, or a fraction below 1. */
  private baseScale(d: DiskSprite, w: number, h: number): number {
    const g = d.painter.geometry;
    const fit = Math.min(w / g.width, h / g.height);
    return fit >= 1 ? Math.floor(fit) : fit;
  }

  private layoutOne(d: DiskSprite, hostRect: DOMRect): void {
    if (!d.slot) {
      d.sprite.visible = false;
      return;
    }
    const r = d.slot.getBoundingClientRect();
    const x = r.left - hostRect.left;
    const y = r.top - hostRect.top;
    const g = d.painter.geometry;
    const scale = this.baseScale(d, r.width, r.height) * d.view.zoom;
    d.sprite.visible = true;
    d.sprite.scale.set(scale);
    const w = g.width * scale;
    const h = g.height * scale;
    d.sprite.position.set(
      Math.round(x + (r.width - w) / 2 + d.view.panX),
      Math.round(y + Math.max(0, (r.height - h) / 2) + d.view.panY),
    );
    d.mask.clear().rect(x, y, r.width, r.height).fill(0xffffff);
  }

  /** Upload dirty textures, place sprites, draw. `frozen`: keep the last picture (Pause). */
  render(frozen: boolean): void {
    if (!this.ready || !this.host) return;
    const hostRect = this.host.getBoundingClientRect();
    let uploaded = false;
    for (const d of this.disks.values()) {
      this.layoutOne(d, hostRect);
      if (frozen) continue;
      const rows = d.painter.takeDirtyRows();
      if (rows || d.uploaded !== d.painter.version) {
        // Only the changed rows go through putImageData.
        const [lo, hi] = rows ?? [0, d.painter.geometry.height - 1];
        d.ctx.putImageData(d.image, 0, 0, 0, lo, d.painter.geometry.width, hi - lo + 1);
        d.source.update();
        d.uploaded = d.painter.version;
        uploaded = true;
      }
    }
    if (uploaded) this.uploads++;
    this.app.render();
  }

  /** Which cell is under a client point, or -1. */
  cellAt(n: number, clientX: number, clientY: number): number {
    const d = this.disks.get(n);
    if (!d || !this.host) return -1;
    const hostRect = this.host.getBoundingClientRect();
    const s = d.sprite.scale.x;
    const lx = (clientX - hostRect.left - d.sprite.x) / s;
    const ly = (clientY - hostRect.top - d.sprite.y) / s;
    const g = d.painter.geometry;
    if (lx < 0 || ly < 0 || lx >= g.width || ly >= g.height) return -1;
    const cell = Math.floor(ly) * g.width + Math.floor(lx);
    return cell < g.cells ? cell : -1;
  }

  /** Centre of a cell in client coordinates (for tests and tooltips). */
  cellCenter(n: number, cell: number): { x: number; y: number } | null {
    const d = this.disks.get(n);
    if (!d || !this.host) return null;
    const hostRect = this.host.getBoundingClientRect();
    const g = d.painter.geometry;
    const s = d.sprite.scale.x;
    return {
      x: hostRect.left + d.sprite.x + ((cell % g.width) + 0.5) * s,
      y: hostRect.top + d.sprite.y + (Math.floor(cell / g.width) + 0.5) * s,
    };
  }

  /** Read the real canvas pixel under a client point (RGBA). */
  canvasPixel(clientX: number, clientY: number): [number, number, number, number] {
    const canvas = this.app.canvas;
    const rect = canvas.getBoundingClientRect();
    const sx = canvas.width / rect.width;
    const sy = canvas.height / rect.height;
    const c = document.createElement('canvas');
    c.width = 1;
    c.height = 1;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(
      canvas,
      Math.floor((clientX - rect.left) * sx),
      Math.floor((clientY - rect.top) * sy),
      1,
      1,
      0,
      0,
      1,
      1,
    );
    const p = ctx.getImageData(0, 0, 1, 1).data;
    return [p[0], p[1], p[2], p[3]];
  }

  zoom(n: number, factor: number, clientX: number, clientY: number): void {
    const d = this.disks.get(n);
    if (!d || !this.host) return;
    const old = d.view.zoom;
    const z = Math.min(64, Math.max(1, Math.round(old * factor * 4) / 4));
    if (z === old) return;
    // Keep the point under the cursor still.
    const hostRect = this.host.getBoundingClientRect();
    const px = clientX - hostRect.left - d.sprite.x;
    const py = clientY - hostRect.top - d.sprite.y;
    d.view.panX -= px * (z / old - 1);
    d.view.panY -= py * (z / old - 1);
    d.view.zoom = z;
    if (z === 1) d.view.panX = d.view.panY = 0;
  }

  pan(n: number, dx: number, dy: number): void {
    const d = this.disks.get(n);
    if (!d || d.view.zoom === 1) return;
    d.view.panX += dx;
    d.view.panY += dy;
  }

  resetView(n: number): void {
    const d = this.disks.get(n);
    if (d) d.view = { zoom: 1, panX: 0, panY: 0 };
  }

  zoomOf(n: number): number {
    return this.disks.get(n)?.view.zoom ?? 1;
  }
}
