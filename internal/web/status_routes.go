package web

// statusPageRoutes are the public status pages and their management pages.
func (s *Server) statusPageRoutes() []Route { return nil }
