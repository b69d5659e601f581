      * Claims extract for breast-cancer scoring: one record per claim.
      * RECFM=FB, LRECL=250, EBCDIC (code page 037).
       01  CLAIM-REC.
           05  CLAIM-ID              PIC X(10).
           05  MEASUREMENTS.
               10  MEAN-RADIUS                 PIC S9(5)V9(6) COMP-3.
               10  MEAN-TEXTURE                PIC S9(5)V9(6) COMP-3.
               10  MEAN-PERIMETER              PIC S9(5)V9(6) COMP-3.
               10  MEAN-AREA                   PIC S9(5)V9(6) COMP-3.
               10  MEAN-SMOOTHNESS             PIC S9(5)V9(6) COMP-3.
               10  MEAN-COMPACTNESS            PIC S9(5)V9(6) COMP-3.
               10  MEAN-CONCAVITY              PIC S9(5)V9(6) COMP-3.
               10  MEAN-CONCAVE-POINTS         PIC S9(5)V9(6) COMP-3.
               10  MEAN-SYMMETRY               PIC S9(5)V9(6) COMP-3.
               10  MEAN-FRACTAL-DIMENSION      PIC S9(5)V9(6) COMP-3.
               10  RADIUS-ERROR                PIC S9(5)V9(6).
               10  TEXTURE-ERROR               PIC S9(5)V9(6).
               10  PERIMETER-ERROR             PIC S9(5)V9(6).
               10  AREA-ERROR                  PIC S9(5)V9(6).
               10  SMOOTHNESS-ERROR            PIC S9(5)V9(6).
               10  COMPACTNESS-ERROR           PIC S9(5)V9(6).
               10  CONCAVITY-ERROR             PIC S9(5)V9(6).
               10  CONCAVE-POINTS-ERROR        PIC S9(5)V9(6).
               10  SYMMETRY-ERROR              PIC S9(5)V9(6).
               10  FRACTAL-DIMENSION-ERROR     PIC S9(5)V9(6).
               10  WORST-RADIUS                PIC S9(5)V9(6) COMP-3.
               10  WORST-TEXTURE               PIC S9(5)V9(6) COMP-3.
               10  WORST-PERIMETER             PIC S9(5)V9(6) COMP-3.
               10  WORST-AREA                  PIC S9(5)V9(6) COMP-3.
               10  WORST-SMOOTHNESS            PIC S9(5)V9(6) COMP-3.
               10  WORST-COMPACTNESS           PIC S9(5)V9(6) COMP-3.
               10  WORST-CONCAVITY             PIC S9(5)V9(6) COMP-3.
               10  WORST-CONCAVE-POINTS        PIC S9(5)V9(6) COMP-3.
               10  WORST-SYMMETRY              PIC S9(5)V9(6) COMP-3.
               10  WORST-FRACTAL-DIMENSION     PIC S9(5)V9(6) COMP-3.
           05  FILLER                PIC X(10).
