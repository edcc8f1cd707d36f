package web

import (
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// notifyRoutes are the notification API and pages: the outbox (viewer
// reads, operator retries), channels (admin) and each user's own contact
// methods and rules (any signed-in user).
func (s *Server) notifyRoutes() []Route {
	if s.opts.Notify == nil {
		return nil
	}
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	return append(s.notifyAPIRoutes(),
		ui("GET", "/notifications", auth.RoleViewer, s.outboxPage),
		ui("POST", "/notifications/{id}/retry", auth.RoleOperator, s.retryNotification),
		ui("GET", "/notification-channels", auth.RoleAdmin, s.channelsPage),
		ui("GET", "/notification-channels/new", auth.RoleAdmin, s.newChannelPage),
		ui("POST", "/notification-channels/new", auth.RoleAdmin, s.createChannel),
		ui("GET", "/notification-channels/{id}", auth.RoleAdmin, s.editChannelPage),
		ui("POST", "/notification-channels/{id}", auth.RoleAdmin, s.updateChannel),
		ui("POST", "/notification-channels/{id}/test", auth.RoleAdmin, s.testChannel),
		ui("POST", "/notification-channels/{id}/delete", auth.RoleAdmin, s.deleteChannel),
		ui("GET", "/account/notifications", auth.RoleRequester, s.myNotificationsPage),
		ui("POST", "/account/notifications/methods", auth.RoleRequester, s.addMyMethod),
		ui("POST", "/account/notifications/methods/{id}/test", auth.RoleRequester, s.testMyMethod),
		ui("POST", "/account/notifications/methods/{id}/delete", auth.RoleRequester, s.deleteMyMethod),
		ui("POST", "/account/notifications/rules", auth.RoleRequester, s.addMyRule),
		ui("POST", "/account/notifications/rules/{id}/delete", auth.RoleRequester, s.deleteMyRule),
	)
}
