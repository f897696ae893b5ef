package filter

import (
	"github.com/wmo-im/wis2downloader/internal/mediatype"
	"github.com/wmo-im/wis2downloader/internal/wis2"
)

// NewInput builds the pre-download input for a notification received on
// topic, whose data comes from link (the notification's DataLink; a zero
// Link for inline content). CentreID comes from the topic (level 4 when
// level 3 is "wis2"), MediaType from the link's declared type (normalised;
// "" when absent or application/octet-stream, which says nothing), Size
// from the link's length (-1 when not given). After the download set Stage
// to PostDownload, MediaType to the resolved type (mediatype.Resolve) and
// Size to the real size, and evaluate again.
func NewInput(topic string, n *wis2.Notification, link wis2.Link) Input {
	in := Input{
		Stage:      PreDownload,
		Topic:      topic,
		CentreID:   wis2.ParseTopic(topic).CentreID,
		DataID:     n.Properties.DataID,
		MetadataID: n.Properties.MetadataID,
		Href:       link.Href,
		Size:       -1,
		Geometry:   n.Geometry,
		Properties: n.Properties.All,
	}
	if t := mediatype.Normalize(link.Type); t != mediatype.OctetStream {
		in.MediaType = t
	}
	if link.Length > 0 {
		in.Size = link.Length
	}
	return in
}
