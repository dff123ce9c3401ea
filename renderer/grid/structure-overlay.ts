// The Structure overlay on the grids: one texture per disk in the disk's overlay layer (texel
// coordinates, so it follows the layout, zoom and pan), painted by structure-palette.ts.

import { CanvasSource, Sprite, Texture, type Container } from 'pixi.js';
import type { DisplayGeometry } from './display-geometry.ts';

/** One overlay sprite per disk, in the disk's overlay layer (texel coordinates). */
export class StructureLayer {
  private sprites = new Map<number, { sprite: Sprite; canvas: HTMLCanvasElement; source: CanvasSource }>();

  show(disk: number, layer: Container, display: DisplayGeometry, rgba: Uint8ClampedArray<ArrayBuffer>): void {
    let s = this.sprites.get(disk);
    if (s && (s.canvas.width !== display.width || s.canvas.height !== display.height || s.sprite.parent !== layer)) {
      this.hide(disk);
      s = undefined;
    }
    if (!s) {
      const canvas = document.createElement('canvas');
      canvas.width = display.width;
      canvas.height = display.height;
      const source = new CanvasSource({ resource: canvas, scaleMode: 'nearest' });
      const sprite = new Sprite(new Texture({ source }));
      sprite.label = 'structure-overlay';
      layer.addChild(sprite);
      s = { sprite, canvas, source };
      this.sprites.set(disk, s);
    }
    s.canvas.getContext('2d')!.putImageData(new ImageData(rgba, display.width, display.height), 0, 0);
    s.source.update();
    s.sprite.visible = true;
  }

  hide(disk: number): void {
    const s = this.sprites.get(disk);
    if (!s) return;
    s.sprite.destroy({ texture: true, textureSource: true });
    this.sprites.delete(disk);
  }

  hideAll(): void {
    for (const d of [...this.sprites.keys()]) this.hide(d);
  }
}
