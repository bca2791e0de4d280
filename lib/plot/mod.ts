/**
 * Plotly figures for gradlab's story (Jacobians, gradcheck, training, export), drawn offline with
 * the plotly.js-dist bundle: shown inline in Jupyter, or written as standalone HTML from Node or
 * Deno.
 */
export { makeFigure, axis, figureTitle, COLORS, type Figure, type PlotlyObject } from "./figure";
export { sideBySideHeatmaps, type MatrixPanel } from "./jacobian_heatmap";
export { jacobianScatter, type JacobianSeries } from "./jacobian_scatter";
export { parityScatter, type ParitySeries, type ParityOptions } from "./parity_scatter";
export { lossCurve, type LossCurveOptions } from "./loss_curve";
export { trajectories, type TrajectoryOptions } from "./trajectories";
export { fittedPlane, type FittedPlaneOptions } from "./fitted_plane";
export { trainTestCurves, type TrainTestSeries, type TrainTestOptions } from "./train_test_curves";
export { confusionMatrix, type ConfusionOptions } from "./confusion_matrix";
export { imageGrid, type GridImage, type ImageGridOptions } from "./image_grid";
export { figureHtml, plotlyLoaderHtml, standaloneHtml, writeFigureHtml, scriptJson } from "./html";
export { plotlyBundle, PlotlyNotFoundError, type PlotlyBundle } from "./plotly_bundle";
export { show, PLOTLY_MIME } from "./show";
