package rpc

import (
	"github.com/hepclinic/hep/internal/hep"
)

// Page sizes of the clinical lists: 0 means defaultPageSize.
const (
	defaultPageSize = 100
	maxPageSize     = 500
)

// nextPage cuts a list fetched with limit size+1 to size and returns the
// token of the next page ("" on the last), bound to kind and filter.
func nextPage[T any](s *Server, kind, filter string, list []T, size int, id func(T) string) ([]T, string) {
	if len(list) <= size {
		return list, ""
	}
	list = list[:size]
	return list, s.encodePage(kind, pageCursor{After: id(list[size-1]), Filter: filter})
}

// openPage validates page_size (into v) and, when v holds no violation,
// opens page_token for the filter. It returns the page size and the id the
// previous page ended at ("" for the first page).
func (s *Server) openPage(v *hep.Violations, kind string, pageSize int32, token, filter string) (int, string, error) {
	size := hep.CheckPageSize(v, pageSize, defaultPageSize, maxPageSize)
	if err := v.Err(); err != nil {
		return 0, "", err
	}
	cur, err := s.decodePage(kind, token, filter)
	if err != nil {
		return 0, "", err
	}
	return size, cur.After, nil
}
