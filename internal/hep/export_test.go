package hep

import "testing"

// TestExportRange: unset days default against the patient's today; set
// days are kept as given (ValidateRange checks them afterwards).
func TestExportRange(t *testing.T) {
	today := Date{Year: 2030, Month: 4, Day: 20}
	d := func(y, m, dd int) Date { return Date{Year: y, Month: m, Day: dd} }
	for _, c := range []struct {
		from, to, wantFrom, wantTo Date
	}{
		{Date{}, Date{}, d(2030, 1, 21), today},
		{d(2030, 3, 18), Date{}, d(2030, 3, 18), today},
		{Date{}, d(2030, 3, 31), d(2030, 1, 1), d(2030, 3, 31)},
		{d(2030, 5, 1), d(2030, 4, 1), d(2030, 5, 1), d(2030, 4, 1)},
	} {
		from, to := ExportRange(c.from, c.to, today)
		if from != c.wantFrom || to != c.wantTo {
			t.Errorf("ExportRange(%s, %s) = %s, %s; want %s, %s", c.from, c.to, from, to, c.wantFrom, c.wantTo)
		}
	}
	if from, to := ExportRange(Date{}, Date{}, today); from.DaysUntil(to)+1 != DefaultExportDays || ValidateRange(from, to, MaxExportDays) != nil {
		t.Errorf("the default range %s to %s is not %d valid days", from, to, DefaultExportDays)
	}
	if !NeedsRowFacts(ExportPDF) || NeedsRowFacts(ExportFHIR) || NeedsRowFacts(ExportCSV) {
		t.Error("only the PDF summarises the rows")
	}
}
