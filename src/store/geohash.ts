/**
 * Geohash arithmetic as Redis 7.0 does it (geohash.c, geohash_helper.c): 52-bit interleaved
 * scores (latitude on even bits, longitude on odd bits, 26 steps each), cell decoding, the
 * haversine distance, and the 3x3 cell cover of a search shape. Bits are held as JS numbers
 * (below 2^53); neighbour moves use BigInt since they need 64-bit masks.
 */

/** Longitude and latitude limits of stored points (Web Mercator's latitude range). */
export const GEO_LONG_MIN = -180;
export const GEO_LONG_MAX = 180;
export const GEO_LAT_MIN = -85.05112878;
export const GEO_LAT_MAX = 85.05112878;
/** Steps per coordinate of a stored score: 26 + 26 = 52 bits. */
export const GEO_STEP_MAX = 26;
/** Redis's Earth radius for the haversine. */
export const EARTH_RADIUS_IN_METERS = 6372797.560856;
/** Redis's MERCATOR_MAX (half the Mercator world width). */
const MERCATOR_MAX_METERS = 20037726.37;
const DEG_TO_RAD = Math.PI / 180.0;

/** A coordinate interval. */
export interface GeoRange {
  min: number;
  max: number;
}

/** A geohash cell: `bits` interleaved bits at `step` steps per coordinate (step 0 = none). */
export interface GeoHashBits {
  bits: number;
  step: number;
}

/** A decoded cell's extent. */
export interface GeoArea {
  longitude: GeoRange;
  latitude: GeoRange;
}

/** The search shape: a circle (radius) or a box (width x height), in units of `conversion` meters. */
export interface GeoShape {
  circular: boolean;
  longitude: number;
  latitude: number;
  /** Meters per unit. */
  conversion: number;
  radius: number;
  width: number;
  height: number;
}

const WGS84_LONG: GeoRange = { min: GEO_LONG_MIN, max: GEO_LONG_MAX };
const WGS84_LAT: GeoRange = { min: GEO_LAT_MIN, max: GEO_LAT_MAX };
/** GEOHASH re-encodes on the standard geohash latitude range. */
const STANDARD_LAT: GeoRange = { min: -90, max: 90 };
const TWO_32 = 2 ** 32;

/** Spreads the low 16 bits of `v` onto the even bits of a 32-bit result. */
function spread16(v: number): number {
  let r = 0;
  for (let i = 0; i < 16; i++) r |= ((v >>> i) & 1) << (2 * i);
  return r >>> 0;
}

/** Gathers the even bits of a 32-bit word into 16 bits. */
function squash32(v: number): number {
  let r = 0;
  for (let i = 0; i < 16; i++) r |= ((v >>> (2 * i)) & 1) << i;
  return r;
}

/** Interleaves two 32-bit values: `even` on bits 0,2,4..., `odd` on bits 1,3,5... (as a number, < 2^53 here). */
export function interleave(even: number, odd: number): number {
  const lo = (spread16(even & 0xffff) | (spread16(odd & 0xffff) << 1)) >>> 0;
  const hi = (spread16(even >>> 16) | (spread16(odd >>> 16) << 1)) >>> 0;
  return hi * TWO_32 + lo;
}

/** Splits interleaved bits (a 64-bit unsigned value as a number or bigint) into [even, odd]. */
export function deinterleave(bits: number | bigint): [number, number] {
  let hi: number, lo: number;
  if (typeof bits === "bigint") {
    hi = Number((bits >> 32n) & 0xffffffffn);
    lo = Number(bits & 0xffffffffn);
  } else {
    hi = Math.floor(bits / TWO_32) >>> 0;
    lo = bits % TWO_32 >>> 0;
  }
  const even = (squash32(lo) | (squash32(hi) << 16)) >>> 0;
  const odd = (squash32(lo >>> 1) | (squash32(hi >>> 1) << 16)) >>> 0;
  return [even, odd];
}

/** geohashEncode: the cell holding (longitude, latitude) at `step`, or null when out of range. */
export function geohashEncode(
  longRange: GeoRange,
  latRange: GeoRange,
  longitude: number,
  latitude: number,
  step: number,
): GeoHashBits | null {
  if (step > 32 || step === 0) return null;
  if (longitude > GEO_LONG_MAX || longitude < GEO_LONG_MIN || latitude > GEO_LAT_MAX || latitude < GEO_LAT_MIN) {
    return null;
  }
  if (
    latitude < latRange.min || latitude > latRange.max || longitude < longRange.min || longitude > longRange.max
  ) {
    return null;
  }
  const cells = 2 ** step;
  const latOffset = ((latitude - latRange.min) / (latRange.max - latRange.min)) * cells;
  const longOffset = ((longitude - longRange.min) / (longRange.max - longRange.min)) * cells;
  // C converts to uint32_t: truncation (offsets are never negative here; 2^32 wraps to 0).
  return { bits: interleave(Math.trunc(latOffset) >>> 0, Math.trunc(longOffset) >>> 0), step };
}

/** The 52-bit score of a WGS84 point, or null when out of range (GEOADD validated it before). */
export function geohashEncodeWGS84(longitude: number, latitude: number): number | null {
  const h = geohashEncode(WGS84_LONG, WGS84_LAT, longitude, latitude, GEO_STEP_MAX);
  return h === null ? null : h.bits;
}

/** geohashDecode: the extent of a cell. */
export function geohashDecode(longRange: GeoRange, latRange: GeoRange, hash: GeoHashBits | BigHash): GeoArea {
  const [ilat, ilon] = deinterleave(hash.bits);
  const latScale = latRange.max - latRange.min;
  const longScale = longRange.max - longRange.min;
  const cells = 2 ** hash.step;
  return {
    latitude: {
      min: latRange.min + (ilat * 1.0 / cells) * latScale,
      max: latRange.min + ((ilat + 1) * 1.0 / cells) * latScale,
    },
    longitude: {
      min: longRange.min + (ilon * 1.0 / cells) * longScale,
      max: longRange.min + ((ilon + 1) * 1.0 / cells) * longScale,
    },
  };
}

/** A cell whose bits may exceed 2^53 (a score cast to uint64). */
interface BigHash {
  bits: bigint;
  step: number;
}

/** C's (uint64_t) cast of a double on x86-64 (gcc): truncation, modulo 2^64 for negatives. */
function scoreToUint64(score: number): bigint {
  if (!Number.isFinite(score) || score >= 2 ** 64) return 1n << 63n;
  if (score <= -(2 ** 63)) return 1n << 63n;
  return BigInt.asUintN(64, BigInt(Math.trunc(score)));
}

/** decodeGeohash: a stored score's cell centre as [longitude, latitude], clamped to the WGS84 limits. */
export function decodeScore(score: number): [number, number] {
  const area = geohashDecode(WGS84_LONG, WGS84_LAT, { bits: scoreToUint64(score), step: GEO_STEP_MAX });
  let lon = (area.longitude.min + area.longitude.max) / 2;
  if (lon > GEO_LONG_MAX) lon = GEO_LONG_MAX;
  if (lon < GEO_LONG_MIN) lon = GEO_LONG_MIN;
  let lat = (area.latitude.min + area.latitude.max) / 2;
  if (lat > GEO_LAT_MAX) lat = GEO_LAT_MAX;
  if (lat < GEO_LAT_MIN) lat = GEO_LAT_MIN;
  return [lon, lat];
}

const GEO_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz";

/** GEOHASH's 11-character text of a stored score: re-encoded on latitude ±90, last char always '0'. */
export function standardGeohash(score: number): string {
  const [lon, lat] = decodeScore(score);
  const h = geohashEncode(WGS84_LONG, STANDARD_LAT, lon, lat, GEO_STEP_MAX);
  const bits = h === null ? 0 : h.bits;
  let text = "";
  for (let i = 0; i < 10; i++) {
    text += GEO_ALPHABET[Math.floor(bits / 2 ** (52 - (i + 1) * 5)) & 0x1f];
  }
  return text + GEO_ALPHABET[0];
}

function degToRad(deg: number): number {
  return deg * DEG_TO_RAD;
}

function radToDeg(rad: number): number {
  return rad / DEG_TO_RAD;
}

/** Distance along a meridian between two latitudes, in meters. */
export function latDistance(lat1: number, lat2: number): number {
  return EARTH_RADIUS_IN_METERS * Math.abs(degToRad(lat2) - degToRad(lat1));
}

/** Redis's haversine distance in meters. */
export function geoDistance(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const lon1r = degToRad(lon1);
  const lon2r = degToRad(lon2);
  const v = Math.sin((lon2r - lon1r) / 2);
  if (v === 0.0) return latDistance(lat1, lat2);
  const lat1r = degToRad(lat1);
  const lat2r = degToRad(lat2);
  const u = Math.sin((lat2r - lat1r) / 2);
  const a = u * u + Math.cos(lat1r) * Math.cos(lat2r) * v * v;
  return 2.0 * EARTH_RADIUS_IN_METERS * Math.asin(Math.sqrt(a));
}

/** The distance from the shape's centre to a point when the point is inside the shape, else null. */
export function distanceIfWithin(shape: GeoShape, lon: number, lat: number): number | null {
  if (shape.circular) {
    const d = geoDistance(shape.longitude, shape.latitude, lon, lat);
    return d > shape.radius * shape.conversion ? null : d;
  }
  const widthM = shape.width * shape.conversion;
  const heightM = shape.height * shape.conversion;
  if (latDistance(lat, shape.latitude) > heightM / 2) return null;
  if (geoDistance(lon, lat, shape.longitude, lat) > widthM / 2) return null;
  return geoDistance(shape.longitude, shape.latitude, lon, lat);
}

/** geohashEstimateStepsByRadius: the coarsest step whose cells still cover the radius. */
export function estimateSteps(rangeMeters: number, lat: number): number {
  if (rangeMeters === 0) return 26;
  let step = 1;
  while (rangeMeters < MERCATOR_MAX_METERS) {
    rangeMeters *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > 26) step = 26;
  return step;
}

/** geohashBoundingBox: [minLon, minLat, maxLon, maxLat] of the shape. */
function boundingBox(shape: GeoShape): [number, number, number, number] {
  const { longitude, latitude } = shape;
  const height = shape.conversion * (shape.circular ? shape.radius : shape.height / 2);
  const width = shape.conversion * (shape.circular ? shape.radius : shape.width / 2);
  const latDelta = radToDeg(height / EARTH_RADIUS_IN_METERS);
  const longDeltaTop = radToDeg(width / EARTH_RADIUS_IN_METERS / Math.cos(degToRad(latitude + latDelta)));
  const longDeltaBottom = radToDeg(width / EARTH_RADIUS_IN_METERS / Math.cos(degToRad(latitude - latDelta)));
  const southern = latitude < 0;
  return [
    southern ? longitude - longDeltaBottom : longitude - longDeltaTop,
    latitude - latDelta,
    southern ? longitude + longDeltaBottom : longitude + longDeltaTop,
    latitude + latDelta,
  ];
}

const EVEN_MASK = 0x5555555555555555n;
const ODD_MASK = 0xaaaaaaaaaaaaaaaan;

/** geohash_move_x / geohash_move_y: steps a cell by dx (odd bits, longitude) and dy (even bits, latitude). */
function move(hash: GeoHashBits, dx: number, dy: number): GeoHashBits {
  let bits = BigInt(hash.bits);
  const shift = BigInt(64 - hash.step * 2);
  for (const [d, mask, other] of [[dx, ODD_MASK, EVEN_MASK], [dy, EVEN_MASK, ODD_MASK]] as const) {
    if (d === 0) continue;
    let x = bits & mask;
    const y = bits & other;
    const zz = other >> shift;
    if (d > 0) x = x + (zz + 1n);
    else x = (x | zz) - (zz + 1n);
    x &= mask >> shift;
    bits = x | y;
  }
  return { bits: Number(bits), step: hash.step };
}

/** A cell's [min, max) score interval at 52 bits. */
export function cellScoreRange(hash: GeoHashBits): [number, number] {
  const scale = 2 ** (52 - hash.step * 2);
  return [hash.bits * scale, (hash.bits + 1) * scale];
}

/**
 * geohashCalculateAreasByShapeWGS84: the cells to scan, in Redis's visiting order (centre, N, S, E,
 * W, NE, NW, SE, SW), with excluded neighbours and repeats of the previous cell dropped.
 */
export function searchCells(shape: GeoShape): GeoHashBits[] {
  const [minLon, minLat, maxLon, maxLat] = boundingBox(shape);
  const radiusMeters = shape.conversion *
    (shape.circular ? shape.radius : Math.sqrt(
      (shape.width / 2) * (shape.width / 2) +
        (shape.height / 2) * (shape.height / 2),
    ));
  let steps = estimateSteps(radiusMeters, shape.latitude);
  const neighboursOf = (h: GeoHashBits) => ({
    north: move(h, 0, 1),
    south: move(h, 0, -1),
    east: move(h, 1, 0),
    west: move(h, -1, 0),
    northEast: move(h, 1, 1),
    northWest: move(h, -1, 1),
    southEast: move(h, 1, -1),
    southWest: move(h, -1, -1),
  });
  // The shape's centre was validated, so encoding cannot fail.
  let hash = geohashEncode(WGS84_LONG, WGS84_LAT, shape.longitude, shape.latitude, steps)!;
  let n = neighboursOf(hash);
  const north = geohashDecode(WGS84_LONG, WGS84_LAT, n.north);
  const south = geohashDecode(WGS84_LONG, WGS84_LAT, n.south);
  const east = geohashDecode(WGS84_LONG, WGS84_LAT, n.east);
  const west = geohashDecode(WGS84_LONG, WGS84_LAT, n.west);
  const decrease = north.latitude.max < maxLat || south.latitude.min > minLat || east.longitude.max < maxLon ||
    west.longitude.min > minLon;
  if (steps > 1 && decrease) {
    steps--;
    hash = geohashEncode(WGS84_LONG, WGS84_LAT, shape.longitude, shape.latitude, steps)!;
    n = neighboursOf(hash);
  }
  const area = geohashDecode(WGS84_LONG, WGS84_LAT, hash);
  const ZERO: GeoHashBits = { bits: 0, step: 0 };
  if (steps >= 2) {
    if (area.latitude.min < minLat) n.south = n.southWest = n.southEast = ZERO;
    if (area.latitude.max > maxLat) n.north = n.northEast = n.northWest = ZERO;
    if (area.longitude.min < minLon) n.west = n.southWest = n.northWest = ZERO;
    if (area.longitude.max > maxLon) n.east = n.southEast = n.northEast = ZERO;
  }
  const all = [hash, n.north, n.south, n.east, n.west, n.northEast, n.northWest, n.southEast, n.southWest];
  const cells: GeoHashBits[] = [];
  let last: GeoHashBits | null = null;
  for (let i = 0; i < all.length; i++) {
    const cell = all[i];
    if (cell.bits === 0 && cell.step === 0) continue;
    // Redis compares with the previously scanned cell, but only once that is not the centre.
    if (last !== null && i > 0 && last !== all[0] && cell.bits === last.bits && cell.step === last.step) continue;
    cells.push(cell);
    last = cell;
  }
  return cells;
}
