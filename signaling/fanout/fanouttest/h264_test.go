package fanouttest

import (
	"slices"
	"testing"
	"time"
)

func TestReadFixture(t *testing.T) {
	aus, err := ReadAccessUnits("../testdata/pen.h264", time.Second/15)
	if err != nil {
		t.Fatal(err)
	}
	if len(aus) != 30 {
		t.Fatalf("got %d access units, want 30", len(aus))
	}
	for i, au := range aus {
		wantKey := i%15 == 0
		if au.Keyframe != wantKey {
			t.Errorf("access unit %d: keyframe %v, want %v (NAL types %v)", i, au.Keyframe, wantKey, NALTypes(au.Data))
		}
		types := NALTypes(au.Data)
		if types[0] != NALAUD {
			t.Errorf("access unit %d starts with NAL type %d, want an AUD", i, types[0])
		}
		if wantKey && (!slices.Contains(types, NALSPS) || !slices.Contains(types, NALPPS)) {
			t.Errorf("keyframe %d lacks parameter sets: %v", i, types)
		}
	}
	t.Logf("first access unit: NAL types %v, %d bytes", NALTypes(aus[0].Data), len(aus[0].Data))
}

func TestSplitAccessUnits(t *testing.T) {
	sc := []byte{0, 0, 0, 1}
	nal := func(typ byte, rest ...byte) []byte { return append(append(slices.Clone(sc), typ), rest...) }
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	sps, pps := nal(0x67, 1), nal(0x68, 2)
	idr := nal(0x65, 0x88)                     // first_mb_in_slice 0
	p0, p1 := nal(0x41, 0x9a), nal(0x41, 0x40) // first_mb 0, then a later slice of the same picture
	tests := []struct {
		name   string
		stream []byte
		want   [][]byte
	}{
		{"without delimiters", cat(sps, pps, idr, p0, p1, p0), [][]byte{cat(sps, pps, idr), cat(p0, p1), p0}},
		{"with delimiters", cat(nal(9, 0x10), sps, pps, idr, nal(9, 0x30), p0), [][]byte{cat(nal(9, 0x10), sps, pps, idr), cat(nal(9, 0x30), p0)}},
		{"parameter sets start a picture", cat(idr, sps, pps, idr), [][]byte{idr, cat(sps, pps, idr)}},
		{"three-byte start codes", []byte{0, 0, 1, 0x65, 0x88, 0, 0, 1, 0x41, 0x9a}, [][]byte{{0, 0, 1, 0x65, 0x88}, {0, 0, 1, 0x41, 0x9a}}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SplitAccessUnits(tt.stream)
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("got %x\nwant %x", got, tt.want)
			}
		})
	}
}
