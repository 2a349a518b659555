import assert from "node:assert/strict";
import {
  cellScoreRange,
  decodeScore,
  deinterleave,
  distanceIfWithin,
  estimateSteps,
  geoDistance,
  geohashEncodeWGS84,
  type GeoShape,
  interleave,
  searchCells,
  standardGeohash,
} from "./geohash.ts";

// Reference values are the ones Redis's documentation shows for GEOADD Sicily.
const PALERMO = [13.361389, 38.115556] as const;
const CATANIA = [15.087269, 37.502669] as const;

Deno.test("geohash: interleave and deinterleave are inverse, latitude on even bits", () => {
  assert.equal(interleave(1, 0), 1);
  assert.equal(interleave(0, 1), 2);
  assert.equal(interleave(0x3ffffff, 0), (4 ** 26 - 1) / 3);
  assert.equal(interleave(0, 0x3ffffff), 2 * (4 ** 26 - 1) / 3);
  for (const [a, b] of [[0, 0], [123456, 654321], [0x3ffffff, 0x3ffffff], [1, 0x2aaaaaa]]) {
    assert.deepEqual(deinterleave(interleave(a, b)), [a, b]);
    assert.deepEqual(deinterleave(BigInt(interleave(a, b))), [a, b]);
  }
});

Deno.test("geohash: WGS84 scores, positions and standard geohashes match Redis", () => {
  const palermo = geohashEncodeWGS84(...PALERMO)!;
  const catania = geohashEncodeWGS84(...CATANIA)!;
  assert.equal(palermo, 3479099956230698);
  assert.equal(catania, 3479447370796909);
  assert.equal(standardGeohash(palermo), "sqc8b49rny0");
  assert.equal(standardGeohash(catania), "sqdtr74hyu0");
  const [lon, lat] = decodeScore(palermo);
  assert.ok(Math.abs(lon - PALERMO[0]) < 1e-5 && Math.abs(lat - PALERMO[1]) < 1e-5);
  assert.equal(geohashEncodeWGS84(180.1, 0), null);
  assert.equal(geohashEncodeWGS84(0, 85.1), null);
  // Values redis-server 7.0.15 prints for GEOPOS of these scores (2^53 is past the 52 bits).
  assert.deepEqual(decodeScore(2 ** 53), [180, Number("-85.05112751263942528")]);
  assert.deepEqual(decodeScore(200000), [Number("-179.99845236539840698"), Number("-85.05033667963769517")]);
});

Deno.test("geohash: haversine distance as Redis computes it", () => {
  const a = decodeScore(geohashEncodeWGS84(...PALERMO)!);
  const b = decodeScore(geohashEncodeWGS84(...CATANIA)!);
  assert.equal(geoDistance(a[0], a[1], b[0], b[1]).toFixed(4), "166274.1516");
  assert.equal(geoDistance(10, 20, 10, 21), geoDistance(10, 21, 10, 20));
  assert.equal(geoDistance(5, 5, 5, 5), 0);
});

Deno.test("geohash: step estimate shrinks with the radius and near the poles", () => {
  assert.equal(estimateSteps(0, 0), 26);
  assert.equal(estimateSteps(1, 0), 24);
  assert.equal(estimateSteps(200_000, 0), 6);
  assert.equal(estimateSteps(200_000, 70), 5);
  assert.equal(estimateSteps(200_000, -81), 4);
  assert.equal(estimateSteps(1e9, 0), 1);
});

Deno.test("geohash: search cells cover every point of the shape", () => {
  const shape: GeoShape = {
    circular: true,
    longitude: 15,
    latitude: 37,
    conversion: 1000,
    radius: 200,
    width: 0,
    height: 0,
  };
  const cells = searchCells(shape);
  assert.ok(cells.length >= 1 && cells.length <= 9);
  const covered = (score: number) =>
    cells.some((c) => {
      const [min, max] = cellScoreRange(c);
      return score >= min && score < max;
    });
  for (let i = 0; i < 500; i++) {
    const lon = 12 + Math.random() * 6;
    const lat = 35 + Math.random() * 4;
    const score = geohashEncodeWGS84(lon, lat)!;
    const [x, y] = decodeScore(score);
    if (distanceIfWithin(shape, x, y) !== null) assert.ok(covered(score), `${lon},${lat} not covered`);
  }
  const box: GeoShape = { ...shape, circular: false, width: 400, height: 100 };
  assert.equal(distanceIfWithin(box, 15, 37.5), null);
  assert.notEqual(distanceIfWithin(box, 16.5, 37), null);
});
