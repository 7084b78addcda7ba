package pen

import "math"

// PenShortSideMetres is how many metres the frame's shorter side spans: the scale that
// turns pixels into metres. At 640x480 that is 96 px/m, so the pigs (0.55 m to 1.1 m from
// snout to rump) range from weaners to finishers.
const PenShortSideMetres = 5.0

// Constants of the weight formula in [WeightFromArea].
const (
	weightCoeffKg  = 380.0
	weightExponent = 1.25
)

// WeightFromArea returns the weight in kilograms of a pig whose top-view silhouette (trunk,
// head, ears and tail) covers bodyAreaPx pixels, seen at pxPerMetre pixels per metre:
//
//	area_m2   = bodyAreaPx / pxPerMetre²
//	weight_kg = 380 × area_m2^1.25
//
// The exponent above 1 reflects that bigger pigs are also deeper; over this package's
// size range (about 0.095 m² to 0.42 m²) it gives 20 kg to 130 kg. It returns 0
// for a non-positive area or scale.
func WeightFromArea(bodyAreaPx int, pxPerMetre float64) float64 {
	if bodyAreaPx <= 0 || !(pxPerMetre > 0) {
		return 0
	}
	areaM2 := float64(bodyAreaPx) / (pxPerMetre * pxPerMetre)
	return weightCoeffKg * math.Pow(areaM2, weightExponent)
}
