package rpc

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestReviewEnumTablesComplete: the review enums map one to one, and every
// alert kind and severity of the API has a domain value a filter can name.
func TestReviewEnumTablesComplete(t *testing.T) {
	if len(painChangeToProto) != len(hepv1.PainChange_name) || len(invert(painChangeToProto)) != len(painChangeToProto) {
		t.Errorf("pain changes: %d entries for %d proto values", len(painChangeToProto), len(hepv1.PainChange_name))
	}
	if len(triageTierToProto) != len(hepv1.TriageTier_name)-1 || len(invert(triageTierToProto)) != len(triageTierToProto) {
		t.Errorf("triage tiers: %d entries for %d proto values", len(triageTierToProto), len(hepv1.TriageTier_name)-1)
	}
	if len(alertKindFromProto) != len(hepv1.AlertKind_name)-1 || len(alertSevFromProto) != len(hepv1.AlertSeverity_name)-1 {
		t.Errorf("alert filters: %d kinds, %d severities", len(alertKindFromProto), len(alertSevFromProto))
	}
	for k, p := range alertKindToProto {
		if "ALERT_KIND_"+string(k) != p.String() {
			t.Errorf("alert kind %s -> %v", k, p)
		}
	}
	for k, p := range painChangeToProto {
		if k != hep.PainChangeUnknown && "PAIN_CHANGE_"+string(k) != p.String() {
			t.Errorf("pain change %s -> %v", k, p)
		}
	}
}

// TestThresholdsRoundTrip: every field survives proto -> domain -> proto.
func TestThresholdsRoundTrip(t *testing.T) {
	in := &hepv1.AlertThresholds{SeverePain: 6, FlareIncrease: 3, WorseningIncrease: 1.5, NonAdherencePercent: 40,
		AdherentPercent: 75, McidPoints: 2.5, McidPercent: 25, InactiveDays: 5}
	if out := thresholdsToProto(thresholdsFromProto(in)); !proto.Equal(in, out) {
		t.Errorf("round trip: %v -> %v", in, out)
	}
	if err := thresholdsFromProto(in).Validate(); err != nil {
		t.Errorf("valid thresholds refused: %v", err)
	}
}
